"""The composition: where governance, registry and explain meet for one request
(``service``), the loaded-model runtime the gate calls (``runtime``), input validation
against a twin's card, the settings (read in one place) and the home folder's secrets.
Imports neither the HTTP surface nor the command line.
"""
