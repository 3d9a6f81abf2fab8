-- patkit pgstore migration 0002: instance settings, such as the check value
-- of the instance key the tokens are digested with (patkit.KeyStore).

CREATE TABLE IF NOT EXISTS settings (
    name  text  PRIMARY KEY,
    value bytea NOT NULL
);
