"""A simulated Airflow scheduler: runs and task instances move through Airflow's states on the
store's clock (docs/simulation.md)."""

from mockflow.simulation.engine import MODES, Mode, Simulation, simulation_of
from mockflow.simulation.scripts import Script, ScriptBook

__all__ = ["MODES", "Mode", "Script", "ScriptBook", "Simulation", "simulation_of"]
