"""Create Neutron's schema in an SQLite database: `neutron_schema.py sqlite:///PATH`.

Neutron's alembic migrations ALTER constraints, which SQLite cannot do, so
`neutron-db-manage upgrade heads` fails there. Instead build the tables from the models (as
Neutron's own unit tests do), then insert the rows that a migration would have inserted: the
default security-group rule templates of migration c33da356b165 (without them new security
groups get no egress rules and /v2.0/default-security-group-rules is empty, which would change
what scs-0115 sees). The caller then runs `neutron-db-manage ... stamp heads`.
"""
import importlib.util
import pathlib
import sys

import neutron
import sqlalchemy as sa
from neutron.db.migration.models import head

engine = sa.create_engine(sys.argv[1])
meta = head.get_metadata()
meta.create_all(engine)

migration = (pathlib.Path(neutron.__file__).parent / "db" / "migration" / "alembic_migrations"
             / "versions" / "2023.2" / "expand" / "c33da356b165_security_group_default_rules.py")
spec = importlib.util.spec_from_file_location("sg_default_rules", migration)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
std = meta.tables["standardattributes"]
rules = meta.tables["securitygroupdefaultrules"]
with engine.begin() as conn:
    if conn.execute(sa.select(sa.func.count()).select_from(rules)).scalar() == 0:
        for template in module.default_template_rules:
            row = dict(template)
            res = conn.execute(sa.insert(std).values(
                description=row.pop("description"), resource_type="securitygroupdefaultrules"))
            row["standard_attr_id"] = res.inserted_primary_key[0]
            conn.execute(sa.insert(rules).values(row))
print("neutron schema: %d tables, default security-group rule templates seeded" % len(meta.tables))
