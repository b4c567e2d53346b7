-- One row per answer: what answered it, and its feedback once credited. H2 and PostgreSQL alike.
CREATE TABLE moe_adapter_answer (
    request_id  VARCHAR(64)  NOT NULL PRIMARY KEY,
    policy      VARCHAR(200) NOT NULL,
    arm         VARCHAR(200) NOT NULL,
    answered_by VARCHAR(100) NOT NULL,
    fallback    VARCHAR(32),
    answered_at TIMESTAMP WITH TIME ZONE NOT NULL,
    correct     BOOLEAN,
    score       DOUBLE PRECISION,
    credited_at TIMESTAMP WITH TIME ZONE
);

CREATE INDEX moe_adapter_answer_policy ON moe_adapter_answer (policy, arm, answered_by);
