"""How sure a statistical twin is of one patient's prediction: a 90 % range per patient.

Each kind has its own honest method, chosen at registration and stored with the version
(:mod:`models.uncertainty.files`, the ``uncertainty/`` folder of the twin's artifact):

=========================  ================================  ===========================
kind                       method                            range of
=========================  ================================  ===========================
logistic_regression        the fitted coefficients'          the patient's estimated
                           covariance, by the delta method   probability
                           (:mod:`.logistic`)
cox_ph                     refits on bootstrap resamples     the patient's estimated
                           of the training rows (:mod:`.cox`)  survival at the horizon
xgboost_classifier,        refits on bootstrap resamples     the estimated probability
xgboost_regressor          (:mod:`.boosted`)                 / value
random_forest_regressor    out-of-bag residuals, split-      the patient's outcome
                           conformal (:mod:`.residuals`)
=========================  ================================  ===========================

A range of the *estimate* says how much the model's answer for this patient would move
had it been fitted on another sample of the same population; a range of the *outcome*
says where the outcomes of patients like this one fell. :class:`PatientRange` says which.
"""

from models.uncertainty.boosted import BoosterBootstrap
from models.uncertainty.cox import CoxBootstrap
from models.uncertainty.files import Uncertainty, load_uncertainty, save_uncertainty
from models.uncertainty.logistic import LogisticCovariance
from models.uncertainty.patient_range import LEVEL, PatientRange
from models.uncertainty.residuals import ResidualRange

__all__ = [
    "LEVEL",
    "BoosterBootstrap",
    "CoxBootstrap",
    "LogisticCovariance",
    "PatientRange",
    "ResidualRange",
    "Uncertainty",
    "load_uncertainty",
    "save_uncertainty",
]
