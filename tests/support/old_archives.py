"""Archives as an older discover wrote them, made from a current one, for the commands that must
read them without upgrading them in place."""

import sqlite3
from contextlib import closing
from pathlib import Path


def downgrade_to_version_1(database: Path) -> None:
    """Rewrite a current archive as discover wrote version 1 (evaluator settings in the config, no
    attempts, isolation, jobs or contexts, no ranking, beta profiles or transfers, no islands or
    behaviour cells, no exchange models or summaries, and `metrics` where `figures` is now)."""
    with closing(sqlite3.connect(database)) as db:
        db.executescript("""
            DROP TABLE transfers;
            DROP TABLE island_events;
            DROP TABLE summaries;
            ALTER TABLE exchanges DROP COLUMN model;
            ALTER TABLE candidates DROP COLUMN descriptors;
            ALTER TABLE candidates DROP COLUMN cell;
            ALTER TABLE candidates DROP COLUMN island;
            UPDATE run SET config = json_remove(config, '$.search');
            DROP INDEX candidates_status;
            ALTER TABLE candidates DROP COLUMN ranking;
            ALTER TABLE candidates DROP COLUMN beta_profile;
            CREATE INDEX candidates_status ON candidates (status, fitness);
            ALTER TABLE run ADD COLUMN writer_pid INTEGER;
            ALTER TABLE run ADD COLUMN writer_host TEXT;
            ALTER TABLE run ADD COLUMN writer_start TEXT;
            UPDATE run SET config = json_set(config, '$.evaluator_config', json(evaluator_config));
            ALTER TABLE run DROP COLUMN evaluator_config;
            ALTER TABLE candidates DROP COLUMN attempts;
            ALTER TABLE candidates DROP COLUMN isolation;
            ALTER TABLE candidates DROP COLUMN job;
            ALTER TABLE candidates DROP COLUMN context;
            ALTER TABLE candidates RENAME COLUMN figures TO metrics;
            PRAGMA user_version = 1;
        """)
