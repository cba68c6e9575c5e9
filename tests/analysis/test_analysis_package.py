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
    # analysis.paired, .sequential, .sections, .conclusions (public) re-export the names they always had
    # from the modules that now define them
    for name in analysis._SUBMODULES:
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
    assert analysis.PREDICTION_SCHEMA is analysis.contract.PREDICTION_SCHEMA


def test_every_result_object_with_more_than_five_fields_is_built_by_keyword():
    import dataclasses
    import inspect
    import pkgutil

    import pytest

    found = []
    for info in pkgutil.walk_packages(analysis.__path__, "analysis."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, dataclasses.is_dataclass):
            if cls.__module__ == info.name and len(dataclasses.fields(cls)) > 5:
                found.append(cls)
                assert all(f.kw_only for f in dataclasses.fields(cls)), cls
    assert {c.__name__ for c in found} >= {"Comparison", "GaussianFit", "PairedTest", "VarianceComponents", "Arm"}
    with pytest.raises(TypeError):
        analysis.Comparison("A", "B", 3, 3)
