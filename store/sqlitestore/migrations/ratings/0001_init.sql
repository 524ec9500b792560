-- additive: true
-- min_binary: 0.8.0
-- ELO ratings (docs/debate.md#elo-ratings), kept in agent_elo.db beside aragora.db.
CREATE TABLE agent_ratings (
	agent      TEXT NOT NULL,
	domain     TEXT NOT NULL DEFAULT '',
	elo        REAL NOT NULL,
	wins       INTEGER NOT NULL DEFAULT 0,
	losses     INTEGER NOT NULL DEFAULT 0,
	draws      INTEGER NOT NULL DEFAULT 0,
	debates    INTEGER NOT NULL DEFAULT 0,
	updated_at TEXT NOT NULL,
	PRIMARY KEY (agent, domain)
);
CREATE INDEX agent_ratings_board ON agent_ratings (domain, elo DESC, agent);

CREATE TABLE rating_matches (
	debate_id   TEXT PRIMARY KEY,
	domain      TEXT NOT NULL DEFAULT '',
	winner      TEXT NOT NULL,
	consensus   INTEGER NOT NULL,
	agents      TEXT NOT NULL,
	changes     TEXT NOT NULL,
	recorded_at TEXT NOT NULL
);
