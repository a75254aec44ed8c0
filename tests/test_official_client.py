"""The official `apache-airflow-client` 2.5 drives the live server, through the plugin's `airflow_client`.

Where the client cannot parse an answer a real Airflow 2.5.3 gives (it refuses nulls the spec
allows the server to send: a new task instance's `state`, a task's `execution_timeout`), the call
passes `_check_return_type=False`, as docs/pytest.md tells users to; mockflow is not bent away from
the real server.
"""

from __future__ import annotations

from typing import Any

import pytest

from mockflow import MockAirflow

client = pytest.importorskip("airflow_client.client", reason="apache-airflow-client is not installed")
from airflow_client.client.api import (  # noqa: E402
    connection_api,
    dag_api,
    dag_run_api,
    pool_api,
    role_api,
    task_instance_api,
    user_api,
    variable_api,
    x_com_api,
)
from airflow_client.client.exceptions import (  # noqa: E402
    ForbiddenException,
    NotFoundException,
    UnauthorizedException,
)
from airflow_client.client.model.dag import DAG  # noqa: E402
from airflow_client.client.model.dag_run import DAGRun  # noqa: E402
from airflow_client.client.model.pool import Pool  # noqa: E402
from airflow_client.client.model.variable import Variable  # noqa: E402

pytestmark = pytest.mark.slow
DAG_ID = "ingest_orders"


def first_run(mock: MockAirflow) -> str:
    return mock.store.dag_runs(DAG_ID)[0].dag_run_id


def test_list_and_pause_dags(airflow_client: Any, mockflow_server: MockAirflow) -> None:
    dags = dag_api.DAGApi(airflow_client)
    listed = dags.get_dags(limit=100)
    assert DAG_ID in [dag.dag_id for dag in listed.dags] and listed.total_entries == len(listed.dags)
    paused = dags.patch_dag(DAG_ID, DAG(is_paused=True), update_mask=["is_paused"])
    assert paused.is_paused is True and mockflow_server.store.dag(DAG_ID).is_paused is True
    assert dags.get_dag(DAG_ID).is_paused is True


def test_trigger_a_run_and_read_it_back(airflow_client: Any, mockflow_server: MockAirflow) -> None:
    runs = dag_run_api.DAGRunApi(airflow_client)
    created = runs.post_dag_run(DAG_ID, DAGRun(dag_run_id="from-client", conf={"rows": 10}))
    assert created.dag_run_id == "from-client" and created.conf == {"rows": 10}
    assert runs.get_dag_run(DAG_ID, "from-client").state.value == "queued"
    mockflow_server.assert_called_once("post_dag_run")
    with pytest.raises(client.ApiException) as conflict:
        runs.post_dag_run(DAG_ID, DAGRun(dag_run_id="from-client"))
    assert conflict.value.status == 409


def test_a_triggered_run_is_polled_to_success(airflow_client: Any, mockflow_server: MockAirflow) -> None:
    runs = dag_run_api.DAGRunApi(airflow_client)
    mockflow_server.freeze_clock()  # virtual time: the simulated scheduler moves with the clock
    runs.post_dag_run(DAG_ID, DAGRun(dag_run_id="polled"))
    state = "queued"
    for _ in range(60):
        mockflow_server.advance_clock(60)
        state = runs.get_dag_run(DAG_ID, "polled").state.value
        if state in ("success", "failed"):
            break
    assert state == "success"


def test_task_instances_logs_and_xcoms(airflow_client: Any, mockflow_server: MockAirflow) -> None:
    run_id = first_run(mockflow_server)
    instances = task_instance_api.TaskInstanceApi(airflow_client)
    # The client refuses the `trigger: null` the real server sends: read without its type checks.
    listed = instances.get_task_instances(DAG_ID, run_id, _check_return_type=False)
    task_ids = [ti["task_id"] for ti in listed["task_instances"]]
    assert task_ids == [ti.task_id for ti in mockflow_server.store.task_instances(DAG_ID, run_id)]
    log = instances.get_log(DAG_ID, run_id, "extract_orders", 1)
    assert "extract_orders" in log.content
    xcoms = x_com_api.XComApi(airflow_client).get_xcom_entries(DAG_ID, run_id, "extract_orders")
    stored = [xcom for xcom in mockflow_server.store.xcoms(DAG_ID, run_id) if xcom.task_id == "extract_orders"]
    assert xcoms.total_entries == len(stored) == len(xcoms.xcom_entries)


def test_the_client_refuses_nulls_the_real_server_sends(airflow_client: Any) -> None:
    # Documented in docs/pytest.md: the workaround is the client's, not mockflow's.
    dags = dag_api.DAGApi(airflow_client)
    with pytest.raises(client.ApiTypeError, match="execution_timeout"):
        dags.get_tasks(DAG_ID)
    assert dags.get_tasks(DAG_ID, _check_return_type=False)["tasks"][0]["task_id"] == "extract_orders"


def test_pools_variables_and_connections(airflow_client: Any, mockflow_server: MockAirflow) -> None:
    pools = pool_api.PoolApi(airflow_client)
    assert pools.post_pool(Pool(name="etl", slots=3)).open_slots == 3
    assert pools.patch_pool("etl", Pool(name="etl", slots=5)).slots == 5
    with pytest.raises(client.ApiException) as exists:
        pools.post_pool(Pool(name="etl", slots=3))
    assert exists.value.status == 409
    pools.delete_pool("etl")
    variables = variable_api.VariableApi(airflow_client)
    variables.post_variables(Variable(key="region", value="eu-west-1"))
    assert variables.get_variable("region").value == mockflow_server.store.variables()["region"] == "eu-west-1"
    connections = connection_api.ConnectionApi(airflow_client)
    first = connections.get_connections().connections[0].connection_id
    assert connections.get_connection(first).connection_id == first
    mockflow_server.assert_called("delete_pool", times=1, status=204)


def test_users_and_roles(airflow_client: Any) -> None:
    users = user_api.UserApi(airflow_client)
    assert "admin" in [user.username for user in users.get_users().users]
    assert users.get_user("admin").roles[0].name == "Admin"
    roles = role_api.RoleApi(airflow_client)
    assert {"Admin", "Op", "User", "Viewer", "Public"} <= {role.name for role in roles.get_roles().roles}


def test_a_missing_dag_is_a_404(airflow_client: Any) -> None:
    with pytest.raises(NotFoundException) as missing:
        dag_api.DAGApi(airflow_client).get_dag("no_such_dag")
    assert missing.value.status == 404 and "no_such_dag" in missing.value.body


@pytest.mark.mockflow(user=("viewer", "viewer"))
def test_a_viewer_is_refused_with_403(airflow_client: Any) -> None:
    with pytest.raises(ForbiddenException) as refused:
        pool_api.PoolApi(airflow_client).post_pool(Pool(name="etl", slots=3))
    assert refused.value.status == 403


@pytest.mark.mockflow(user=None)
def test_no_credentials_is_a_401(airflow_client: Any) -> None:
    with pytest.raises(UnauthorizedException) as refused:
        dag_api.DAGApi(airflow_client).get_dags()
    assert refused.value.status == 401
