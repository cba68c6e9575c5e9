"""The package's lazy public names (PEP 562) resolve to what their modules define."""

import importlib
import subprocess
import sys
import types

import analysis


def test_every_public_name_resolves_to_its_definition_even_after_submodule_imports():
    # importing a submodule binds its name in the package: no public function may share a module's name
    for module in {*analysis._EXPORTS.values(), *analysis._SUBMODULES}:
        importlib.import_module(f"analysis.{module}")
    for name, module in analysis._EXPORTS.items():
        value = getattr(analysis, name)
        assert not isinstance(value, types.ModuleType), name
        assert value is getattr(importlib.import_module(f"analysis.{module}"), name)


def test_results_contract_imports_without_the_plotting_and_statistics_stack():
    code = "import sys, analysis.contract; print('matplotlib' in sys.modules, 'scipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_the_public_submodules_re_export_their_homes():
    # analysis.paired, .sequential, .sections, .conclusions (public) and analysis.predictions (named by
    # tests/trainer) re-export the names they always had from the modules that now define them
    for name in (*analysis._SUBMODULES, "predictions"):
        module = importlib.import_module(f"analysis.{name}")
        if name == "synthetic":
            continue
        for attr in module.__all__:
            value = getattr(module, attr)
            home = getattr(value, "__module__", None)
            assert home is None or home.startswith("analysis.") and home != module.__name__ or attr.isupper(), attr
    assert analysis.paired.plot_test_res is analysis.plot_test_res
    assert analysis.sequential.plot_stopping_path is analysis.plot_stopping_path
    assert analysis.sections.build_report is analysis.build_report
    assert analysis.predictions.PREDICTION_SCHEMA is analysis.contract.PREDICTION_SCHEMA
