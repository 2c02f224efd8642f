"""The copy of DSMB releases between apps, shared by the migrations that move them."""

from django.core.management.color import no_style


def copy_releases(apps, schema_editor, source, target):
    """Copy the releases and their history records from app `source` to app `target`, ids and
    all, and move the target's id sequences past the copied ids."""
    connection = schema_editor.connection
    copied = []
    for name in ("DsmbRelease", "HistoricalDsmbRelease"):
        old = apps.get_model(source, name)
        new = apps.get_model(target, name)
        columns = [field.attname for field in old._meta.concrete_fields]
        rows = [new(**{c: getattr(row, c) for c in columns}) for row in old.objects.order_by("pk")]
        new.objects.using(connection.alias).bulk_create(rows, batch_size=500)
        copied.append(new)
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), copied):
            cursor.execute(statement)
