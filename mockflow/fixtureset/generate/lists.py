"""The one-list files of a generated set: pools, variables, connections, roles, users, datasets, ..."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from mockflow.fixtureset.generate.plan import END, JSON, TEAMS, Plan
from mockflow.store.builtins import DEFAULT_ROLES
from mockflow.wire import iso


class ListMaker:
    """The small files, drawn after the DAG files (the dataset events point at their runs)."""

    def __init__(self, plan: Plan) -> None:
        self.settings, self.rng, self.fake, self.pools = plan.settings, plan.rng, plan.fake, plan.pools
        self.dags, self.dataset_ids, self.producer_runs = plan.dags, plan.dataset_ids, plan.producer_runs

    # --- the one-list files --------------------------------------------------------------------
    def small_files(self) -> dict[str, Any]:
        return {
            "pools": [{"name": name, "slots": 128 if name == "default_pool" else self.rng.choice((4, 8, 16, 32)),
                       "description": "Default pool" if name == "default_pool" else f"Slots for {name[:-5]} jobs"}
                      for name in self.pools],
            "variables": self._variables(),
            "connections": self._connections(),
            "roles": self._roles(),
            "users": self._users(),
            "datasets": [{"id": n, "uri": uri, "extra": {"owner": self.rng.choice(TEAMS)},
                          "created_at": iso(END - timedelta(days=90)), "updated_at": iso(END)}
                         for uri, n in self.dataset_ids.items()],
            "import_errors": [{"import_error_id": n, "timestamp": iso(END + timedelta(minutes=n)),
                               "filename": f"/opt/airflow/dags/{self.fake.word()}_{n}.py",
                               "stack_trace": f"Traceback (most recent call last):\n  File \"<frozen importlib>\", "
                                              f"line 241\nModuleNotFoundError: No module named '{self.fake.word()}'\n"}
                              for n in range(1, 2 + self.settings.dags // 200)],
            "dag_warnings": [{"dag_id": dag.dag_id, "warning_type": "non-existent pool",
                              "message": f"Dag '{dag.dag_id}' references non-existent pools: ['legacy_pool']",
                              "timestamp": iso(END)} for dag in self.dags[9::100]],
            "event_logs": self._event_logs(),
            "plugins": [{"name": "company_plugin", "hooks": ["CatalogHook"], "executors": [], "macros": [],
                         "flask_blueprints": [], "appbuilder_views": [], "appbuilder_menu_items": [],
                         "global_operator_extra_links": [], "operator_extra_links": [],
                         "source": "$PLUGINS_FOLDER/company_plugin.py"}],
            "providers": [{"package_name": f"apache-airflow-providers-{name}", "description": text, "version": version}
                          for name, text, version in PROVIDERS],
        }

    def _variables(self) -> list[JSON]:
        found = []
        for n in range(max(5, self.settings.dags // 10)):
            key = f"{self.fake.word()}_{self.fake.word()}_{n}"
            value: str = self.fake.word()
            if n % 3 == 0:
                value = json.dumps({"owner": self.rng.choice(TEAMS), "limit": self.rng.randint(1, 1000),
                                    "emails": [self.fake.email() for _ in range(2)]})
            elif n % 3 == 1:
                value = str(self.rng.randint(1, 10000))
            found.append({"key": key, "value": value, "description": self.fake.sentence(nb_words=5) if n % 2 else None})
        return found

    def _connections(self) -> list[JSON]:
        kinds = (("postgres", 5432), ("mysql", 3306), ("snowflake", None), ("aws", None), ("http", 443),
                 ("ssh", 22), ("sftp", 22), ("google_cloud_platform", None))
        found = []
        for n in range(max(8, self.settings.dags // 20)):
            conn_type, port = kinds[n % len(kinds)]
            found.append({"connection_id": f"{conn_type}_{self.fake.word()}_{n}", "conn_type": conn_type,
                          "description": self.fake.sentence(nb_words=4), "host": self.fake.hostname(),
                          "login": self.fake.user_name(), "schema": self.fake.word() if port else None, "port": port,
                          "password": self.fake.password(length=16),
                          "extra": json.dumps({"timeout": self.rng.randint(5, 60), "region": "eu-west-1"})
                          if n % 2 else None})
        return found

    def _roles(self) -> list[JSON]:
        roles = []
        for team in TEAMS[:3]:
            dags = [dag.dag_id for dag in self.dags if dag.index % len(TEAMS) == TEAMS.index(team)][:20]
            actions = [{"action": {"name": action}, "resource": {"name": f"DAG:{dag_id}"}}
                       for dag_id in dags for action in ("can_read", "can_edit")]
            actions += [{"action": {"name": "can_read"}, "resource": {"name": name}}
                        for name in ("DAG Runs", "Task Instances", "Task Logs")]
            roles.append({"name": f"{team.title().replace('-', '')}Team", "actions": actions})
        return roles

    def _users(self) -> list[JSON]:
        roles = [*DEFAULT_ROLES, *(f"{team.title().replace('-', '')}Team" for team in TEAMS[:3])]
        users = [{"username": name.lower(), "email": f"{name.lower()}@example.com", "first_name": name,
                  "last_name": "User", "roles": [{"name": name}], "password": name.lower(), "active": True}
                 for name in DEFAULT_ROLES]
        for n in range(max(5, self.settings.dags // 10)):
            first, last = self.fake.first_name(), self.fake.last_name()
            login = f"{first.lower()}.{last.lower()}{n}"
            users.append({"username": login, "email": f"{login}@example.com",
                          "first_name": first, "last_name": last, "roles": [{"name": roles[n % len(roles)]}],
                          "password": self.fake.password(length=12), "active": n % 17 != 16,
                          "created_on": iso(END - timedelta(days=self.rng.randint(1, 300)))[:19],  # type: ignore[index]
                          "login_count": self.rng.randint(0, 500), "fail_login_count": self.rng.randint(0, 3)})
        return users

    def _event_logs(self) -> list[JSON]:
        events = ("trigger", "paused", "dag_run.create", "variable.edit", "connection.create", "clear", "success",
                  "failed", "running", "cli_scheduler")
        logs = []
        for n in range(1, 1 + max(20, self.settings.dags)):
            dag = self.rng.choice(self.dags)
            logs.append({"event_log_id": n, "when": iso(END - timedelta(minutes=self.rng.randint(0, 100000))),
                         "dag_id": dag.dag_id if n % 4 else None, "task_id": None, "event": self.rng.choice(events),
                         "execution_date": None, "owner": self.rng.choice(("admin", "op", "airflow")),
                         "extra": None})
        return logs

    def dataset_events(self) -> list[JSON]:
        return [{"id": n, "dataset_id": self.dataset_ids[self._outlet(dag_id)], "dataset_uri": self._outlet(dag_id),
                 "extra": {}, "source_dag_id": dag_id, "source_task_id": task_id, "source_run_id": run_id,
                 "source_map_index": -1, "created_dagruns": [], "timestamp": end}
                for n, (dag_id, task_id, run_id, end) in enumerate(self.producer_runs, start=1)]

    def _outlet(self, dag_id: str) -> str:
        return next(dag.produces for dag in self.dags if dag.dag_id == dag_id and dag.produces)


PROVIDERS = (
    ("amazon", "Amazon integration (including Amazon Web Services (AWS)) https://aws.amazon.com/", "7.4.1"),
    ("common-sql", "Common SQL Provider https://en.wikipedia.org/wiki/SQL", "1.4.0"),
    ("google", "Google services", "8.12.0"),
    ("http", "Hypertext Transfer Protocol (HTTP) https://www.w3.org/Protocols/", "4.3.0"),
    ("mysql", "MySQL https://www.mysql.com/", "5.0.0"),
    ("postgres", "PostgreSQL https://www.postgresql.org/", "5.4.0"),
    ("sftp", "SSH File Transfer Protocol (SFTP) https://tools.ietf.org/wg/secsh/draft-ietf-secsh-filexfer/", "4.2.4"),
    ("snowflake", "Snowflake https://www.snowflake.com/", "4.0.5"),
    ("ssh", "Secure Shell (SSH) https://tools.ietf.org/html/rfc4251", "3.6.0"),
)
