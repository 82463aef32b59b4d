CREATE TABLE patient (
	patient_key VARCHAR(64) NOT NULL, 
	site VARCHAR(64) NOT NULL, 
	registered_by VARCHAR(128) NOT NULL, 
	registered_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (patient_key)
);

CREATE INDEX ix_patient_site ON patient (site);

CREATE TABLE model_version (
	id SERIAL NOT NULL, 
	model VARCHAR(128) NOT NULL, 
	version VARCHAR(32) NOT NULL, 
	kind VARCHAR(64) NOT NULL, 
	status VARCHAR(32) NOT NULL, 
	registrant VARCHAR(128) NOT NULL, 
	registered_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	artifact_sha256 VARCHAR(64) NOT NULL, 
	card_json TEXT NOT NULL, 
	environment_json TEXT NOT NULL, 
	evaluation_digest VARCHAR(64) NOT NULL, 
	run_id VARCHAR(64) NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (model, version)
);

CREATE INDEX ix_model_version_model ON model_version (model);

CREATE TABLE transition (
	id SERIAL NOT NULL, 
	model VARCHAR(128) NOT NULL, 
	version VARCHAR(32) NOT NULL, 
	from_status VARCHAR(32), 
	to_status VARCHAR(32) NOT NULL, 
	actor VARCHAR(128) NOT NULL, 
	reason TEXT NOT NULL, 
	at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_transition_model ON transition (model);

CREATE TABLE bias_audit (
	id VARCHAR(36) NOT NULL, 
	model VARCHAR(128) NOT NULL, 
	version VARCHAR(32) NOT NULL, 
	passed BOOLEAN NOT NULL, 
	metrics_json TEXT NOT NULL, 
	policy_version VARCHAR(64) NOT NULL, 
	evaluation_digest VARCHAR(64) NOT NULL, 
	auditor VARCHAR(128) NOT NULL, 
	at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_bias_audit_version ON bias_audit (model, version);

CREATE TABLE audit_record (
	seq SERIAL NOT NULL, 
	record_id VARCHAR(36) NOT NULL, 
	at TIMESTAMP WITH TIME ZONE NOT NULL, 
	action VARCHAR(64) NOT NULL, 
	body TEXT NOT NULL, 
	prev_hash VARCHAR(64) NOT NULL, 
	hash VARCHAR(64) NOT NULL, 
	PRIMARY KEY (seq), 
	UNIQUE (record_id)
);

CREATE INDEX ix_audit_record_action ON audit_record (action);

CREATE TABLE revoked_token (
	id SERIAL NOT NULL, 
	jti VARCHAR(64), 
	subject VARCHAR(128), 
	revoked_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	revoked_by VARCHAR(128) NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_revoked_token_subject ON revoked_token (subject);

CREATE INDEX ix_revoked_token_jti ON revoked_token (jti);

CREATE TABLE override (
	id VARCHAR(36) NOT NULL, 
	audit_id VARCHAR(36) NOT NULL, 
	model VARCHAR(128) NOT NULL, 
	model_version VARCHAR(32) NOT NULL, 
	patient_key VARCHAR(64) NOT NULL, 
	site VARCHAR(64) NOT NULL, 
	action VARCHAR(16) NOT NULL, 
	reason TEXT NOT NULL, 
	clinician VARCHAR(128) NOT NULL, 
	at TIMESTAMP WITH TIME ZONE NOT NULL, 
	override_audit_id VARCHAR(36) NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (audit_id, clinician)
);

CREATE INDEX ix_override_audit_id ON override (audit_id);

CREATE TABLE validation_dossier (
	id VARCHAR(36) NOT NULL, 
	model VARCHAR(128) NOT NULL, 
	version VARCHAR(32) NOT NULL, 
	passed BOOLEAN NOT NULL, 
	body TEXT NOT NULL, 
	sha256 VARCHAR(64) NOT NULL, 
	criteria_digest VARCHAR(64) NOT NULL, 
	policy_version VARCHAR(64) NOT NULL, 
	evaluation_digest VARCHAR(64) NOT NULL, 
	validator VARCHAR(128) NOT NULL, 
	at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_validation_dossier_version ON validation_dossier (model, version);

CREATE TABLE consent (
	id VARCHAR(36) NOT NULL, 
	patient_key VARCHAR(64) NOT NULL, 
	purpose VARCHAR(64) NOT NULL, 
	data_categories TEXT NOT NULL, 
	valid_from TIMESTAMP WITH TIME ZONE, 
	valid_until TIMESTAMP WITH TIME ZONE, 
	granted_by VARCHAR(128) NOT NULL, 
	granted_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	withdrawn_by VARCHAR(128), 
	withdrawn_at TIMESTAMP WITH TIME ZONE, 
	PRIMARY KEY (id), 
	FOREIGN KEY(patient_key) REFERENCES patient (patient_key)
);

CREATE INDEX ix_consent_patient_purpose ON consent (patient_key, purpose);
