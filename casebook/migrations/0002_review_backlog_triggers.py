"""Triggers that mark a participant's review backlog stale when a row its counts depend on is
written, by any path (the services, the visit job's set-based updates, bulk generators)."""

from django.db import migrations

BACKLOG = "casebook_reviewbacklog"

# (table, condition on the old row `o` and the new row `n` under which an update changes the
# counts). Every form table of the catalogue, the visits, the verifications and the signatures
# carry `participant_id`. tests/casebook/test_review_backlog.py checks that every form type of
# the catalogue is listed.
WATCHED = (
    *(
        (table, "o.entry_status IS DISTINCT FROM n.entry_status")
        for table in (
            "assessments_medicalhistory",
            "assessments_sledaiassessment",
            "assessments_renalassessment",
            "assessments_labresults",
            "assessments_vitalsigns",
            "assessments_pregnancytest",
            "assessments_infusion",
            "assessments_concomitantmedication",
            "safety_adverseevent",
            "safety_pregnancyreport",
            "assessments_protocoldeviation",
            "assessments_endofstudy",
        )
    ),
    ("visits_visit", "o.status IS DISTINCT FROM n.status"),
    (
        "review_sourceverification",
        "o.voided_at IS DISTINCT FROM n.voided_at OR o.complete IS DISTINCT FROM n.complete",
    ),
    ("review_signature", "o.voided_at IS DISTINCT FROM n.voided_at"),
)
# The participant's own changes that move it in or out of an SDV plan or sample.
PARTICIPANT = "o.protocol_version_id IS DISTINCT FROM n.protocol_version_id OR " + (
    "o.subject_id IS DISTINCT FROM n.subject_id"
)

# A protocol version's SDV plan is part of its definition, which the services never change once
# loaded; a change made all the same marks every participant of the version.

# PostgreSQL: one statement-level trigger per table and event, which marks the participants of
# all the rows a statement wrote at once (the visit job updates a thousand visits a statement).
PG_FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION casebook_backlog_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE {BACKLOG} AS b SET stale = true
    FROM (SELECT DISTINCT participant_id FROM added) AS a
    WHERE b.participant_id = a.participant_id AND NOT b.stale;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION casebook_backlog_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- TG_ARGV[0]: the participant's column; TG_ARGV[1]: when a row's change counts.
    EXECUTE format(
        'UPDATE {BACKLOG} AS b SET stale = true FROM (SELECT DISTINCT n.%1$I AS participant_id '
        'FROM changed AS n JOIN unchanged AS o ON o.id = n.id WHERE %2$s) AS a '
        'WHERE b.participant_id = a.participant_id AND NOT b.stale',
        TG_ARGV[0], TG_ARGV[1]);
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION casebook_backlog_replanned() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE {BACKLOG} AS b SET stale = true
    FROM trials_participant AS p, changed AS n, unchanged AS o
    WHERE o.id = n.id AND o.definition IS DISTINCT FROM n.definition
        AND p.protocol_version_id = n.id AND b.participant_id = p.id AND NOT b.stale;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION casebook_backlog_enrolled() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {BACKLOG} (participant_id, stale, to_verify, unsigned_visits, overdue_visits,
                           missed_visits)
    SELECT id, true, 0, 0, 0, 0 FROM added
    ON CONFLICT (participant_id) DO NOTHING;
    RETURN NULL;
END $$;
"""


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _pg_triggers() -> list[str]:
    statements = [PG_FUNCTIONS]
    for table, changed in WATCHED:
        statements += [
            f"CREATE TRIGGER {table}_backlog_ins AFTER INSERT ON {table} "
            "REFERENCING NEW TABLE AS added FOR EACH STATEMENT "
            "EXECUTE FUNCTION casebook_backlog_inserted()",
            f"CREATE TRIGGER {table}_backlog_upd AFTER UPDATE ON {table} "
            "REFERENCING OLD TABLE AS unchanged NEW TABLE AS changed FOR EACH STATEMENT "
            f"EXECUTE FUNCTION casebook_backlog_updated('participant_id', {_quoted(changed)})",
        ]
    statements += [
        "CREATE TRIGGER trials_participant_backlog_ins AFTER INSERT ON trials_participant "
        "REFERENCING NEW TABLE AS added FOR EACH STATEMENT "
        "EXECUTE FUNCTION casebook_backlog_enrolled()",
        "CREATE TRIGGER trials_participant_backlog_upd AFTER UPDATE ON trials_participant "
        "REFERENCING OLD TABLE AS unchanged NEW TABLE AS changed FOR EACH STATEMENT "
        f"EXECUTE FUNCTION casebook_backlog_updated('id', {_quoted(PARTICIPANT)})",
        "CREATE TRIGGER trials_protocolversion_backlog_upd AFTER UPDATE ON trials_protocolversion "
        "REFERENCING OLD TABLE AS unchanged NEW TABLE AS changed FOR EACH STATEMENT "
        "EXECUTE FUNCTION casebook_backlog_replanned()",
    ]
    return statements


def _sqlite_triggers() -> list[str]:
    """SQLite has row-level triggers only; `o` and `n` are OLD and NEW."""

    def when(condition: str) -> str:
        return (
            condition.replace("o.", "OLD.")
            .replace("n.", "NEW.")
            .replace("IS DISTINCT FROM", "IS NOT")
        )

    def mark(participant: str) -> str:
        return (
            f"BEGIN UPDATE {BACKLOG} SET stale = 1 "
            f"WHERE participant_id = NEW.{participant} AND stale = 0; END"
        )

    statements = []
    for table, changed in WATCHED:
        statements += [
            f"CREATE TRIGGER {table}_backlog_ins AFTER INSERT ON {table} FOR EACH ROW "
            + mark("participant_id"),
            f"CREATE TRIGGER {table}_backlog_upd AFTER UPDATE ON {table} FOR EACH ROW "
            f"WHEN {when(changed)} " + mark("participant_id"),
        ]
    statements += [
        "CREATE TRIGGER trials_participant_backlog_ins AFTER INSERT ON trials_participant "
        f"FOR EACH ROW BEGIN INSERT INTO {BACKLOG} (participant_id, stale, to_verify, "
        "unsigned_visits, overdue_visits, missed_visits) VALUES (NEW.id, 1, 0, 0, 0, 0) "
        "ON CONFLICT (participant_id) DO NOTHING; END",
        "CREATE TRIGGER trials_participant_backlog_upd AFTER UPDATE ON trials_participant "
        f"FOR EACH ROW WHEN {when(PARTICIPANT)} " + mark("id"),
        "CREATE TRIGGER trials_protocolversion_backlog_upd AFTER UPDATE OF definition ON "
        "trials_protocolversion FOR EACH ROW WHEN OLD.definition IS NOT NEW.definition "
        f"BEGIN UPDATE {BACKLOG} SET stale = 1 WHERE stale = 0 AND participant_id IN "
        "(SELECT id FROM trials_participant WHERE protocol_version_id = NEW.id); END",
    ]
    return statements


def _tables() -> list[str]:
    return [table for table, _ in WATCHED] + ["trials_participant", "trials_protocolversion"]


def create(apps, schema_editor):  # type: ignore[no-untyped-def]
    vendor = schema_editor.connection.vendor
    if vendor not in ("postgresql", "sqlite"):
        raise RuntimeError(f"No review backlog triggers for {vendor}.")
    for statement in _pg_triggers() if vendor == "postgresql" else _sqlite_triggers():
        schema_editor.execute(statement, params=None)


def drop(apps, schema_editor):  # type: ignore[no-untyped-def]
    vendor = schema_editor.connection.vendor
    for table in _tables():
        for event in ("ins", "upd"):
            on = f" ON {table}" if vendor == "postgresql" else ""
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_backlog_{event}{on}")
    if vendor == "postgresql":
        for name in ("inserted", "updated", "replanned", "enrolled"):
            schema_editor.execute(f"DROP FUNCTION IF EXISTS casebook_backlog_{name}()")


class Migration(migrations.Migration):
    dependencies = [
        ("casebook", "0001_review_backlog"),
        ("assessments", "0008_to_verify_order"),
        ("safety", "0006_to_verify_order"),
        ("review", "0007_message_templates"),
        ("visits", "0005_forms_pending"),
        ("trials", "0011_coder_role"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
