#!/usr/bin/env python3
"""conan_recipe: checks conanfile.py without Conan.

Conan is not installable on the development machines, so the recipe is imported with a stub `conan`
package (just the names the recipe imports) and its methods are called on fake options, settings and
cpp_info objects. This checks the metadata and the per-option logic; it does NOT run `conan create`,
resolve the requirements against Conan Center, or build anything.

Environment: GALML_SOURCE_DIR (repository root; default: two levels up),
             GALML_CMAKE_PROJECT_VERSION (CMake's ${PROJECT_VERSION}; default: parsed here).
"""
import collections
import importlib.util
import os
import re
import sys
import types
import unittest

SOURCE_DIR = os.environ.get("GALML_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))


# ----------------------------------------------------------------------------- stub conan package
class StubError(Exception):
    pass


class StubConanFile:
    name = None
    version = None
    package_type = None
    settings = None
    options = None
    default_options = None


def _recorder(log, name):
    def fn(*args, **kwargs):
        log.append((name, args, kwargs))
    return fn


CALLS = []


def install_stub_conan():
    mods = {}

    def mod(name, **attrs):
        m = types.ModuleType(name)
        m.__dict__.update(attrs)
        mods[name] = m
        return m

    class _Tool:
        def __init__(self, *a, **k):
            CALLS.append((type(self).__name__, a, k))
            self.cache_variables = {}
            self.variables = {}

        def vars(self, *a, **k):  # Environment.vars(conanfile) -> EnvVars with save_script()
            CALLS.append((f"{type(self).__name__}.vars", a, k))
            return types.SimpleNamespace(save_script=_recorder(CALLS, f"{type(self).__name__}.save_script"))

        def __getattr__(self, item):
            return _recorder(CALLS, f"{type(self).__name__}.{item}")

    tools = {n: type(n, (_Tool,), {}) for n in ("CMake", "CMakeDeps", "CMakeToolchain", "PkgConfigDeps",
                                                 "Environment")}
    mod("conan", ConanFile=StubConanFile)
    mod("conan.errors", ConanInvalidConfiguration=StubError, ConanException=StubError)
    mod("conan.tools")
    mod("conan.tools.build", check_min_cppstd=_recorder(CALLS, "check_min_cppstd"))
    mod("conan.tools.cmake", CMake=tools["CMake"], CMakeDeps=tools["CMakeDeps"],
        CMakeToolchain=tools["CMakeToolchain"], cmake_layout=_recorder(CALLS, "cmake_layout"))
    mod("conan.tools.env", Environment=tools["Environment"])
    mod("conan.tools.files", copy=_recorder(CALLS, "copy"), rmdir=_recorder(CALLS, "rmdir"),
        load=lambda _self, path: open(path, encoding="utf-8").read())
    mod("conan.tools.gnu", PkgConfigDeps=tools["PkgConfigDeps"])
    mod("conan.tools.layout", basic_layout=_recorder(CALLS, "basic_layout"))
    sys.modules.update(mods)


def load_recipe():
    install_stub_conan()
    spec = importlib.util.spec_from_file_location("galml_conanfile", os.path.join(SOURCE_DIR, "conanfile.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ----------------------------------------------------------------------------- fakes for a recipe instance
class Values(types.SimpleNamespace):
    def get_safe(self, name, default=None):
        obj = self
        for part in name.split("."):
            obj = getattr(obj, part, None)
            if obj is None:
                return default
        return obj


class Info:
    def __init__(self, options):
        self.options = options
        self.cleared = False

    def clear(self):
        self.cleared = True


class Component:
    def __init__(self):
        self.properties = {}
        self.requires = []
        self.libs = []
        self.defines = []
        self.system_libs = []
        self.bindirs = ["bin"]
        self.libdirs = ["lib"]

    def set_property(self, key, value):
        self.properties[key] = value


class CppInfo(Component):
    def __init__(self):
        super().__init__()
        self.components = collections.defaultdict(Component)


def make_recipe(module, os_name="Linux", **opts):
    recipe = module.GalmlConan()
    options = dict(recipe.default_options)
    options.update(opts)
    recipe.options = Values(**options)
    recipe.settings = Values(os=os_name, arch="x86_64", build_type="Release",
                             compiler=Values(cppstd=None, version="12"))
    recipe.info = Info(Values(**options))
    recipe.cpp_info = CppInfo()
    recipe.recipe_folder = SOURCE_DIR
    recipe.source_folder = SOURCE_DIR
    recipe.package_folder = "/tmp/galml-package"
    recipe.generators_folder = "/tmp/galml-generators"
    reqs = []
    recipe.requires = lambda ref, **kw: reqs.append((ref, kw))
    recipe.recorded_requires = reqs
    return recipe


def cmake_project_version():
    env = os.environ.get("GALML_CMAKE_PROJECT_VERSION")
    if env:
        return env
    with open(os.path.join(SOURCE_DIR, "CMakeLists.txt"), encoding="utf-8") as f:
        return re.search(r"project\(\s*galml\s+VERSION\s+(\S+)", f.read()).group(1)


def cmake_alias_targets():
    """Every `add_library(galml::X ALIAS ...)` in the CMake sources: the targets components must match."""
    found = set()
    for path in [os.path.join(SOURCE_DIR, "CMakeLists.txt")] + [
            os.path.join(SOURCE_DIR, "cmake", n) for n in sorted(os.listdir(os.path.join(SOURCE_DIR, "cmake")))
            if n.endswith(".cmake")]:
        with open(path, encoding="utf-8") as f:
            found.update(re.findall(r"add_library\(\s*(galml::\w+)\s+ALIAS", f.read()))
    return found


# ----------------------------------------------------------------------------- tests
class ConanRecipeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.module = load_recipe()

    def test_metadata(self):
        r = self.module.GalmlConan
        self.assertEqual(r.name, "galml")
        self.assertEqual(r.package_type, "header-library")
        self.assertEqual(r.license, "MIT")
        self.assertEqual(set(r.settings), {"os", "arch", "compiler", "build_type"})
        self.assertIn("include/*", r.exports_sources)
        self.assertIn("LICENSE", r.exports_sources)
        self.assertIn("CMakeLists.txt", r.exports_sources)  # set_version() reads it
        self.assertTrue(os.path.isfile(os.path.join(SOURCE_DIR, "LICENSE")))
        self.assertEqual(getattr(self.module, "required_conan_version", ""), ">=2.0")

    def test_version_matches_cmake_project_version(self):
        recipe = make_recipe(self.module)
        recipe.version = None
        recipe.set_version()
        self.assertEqual(recipe.version, cmake_project_version())
        # ... and the version.hpp fallback gives the same answer.
        with open(os.path.join(SOURCE_DIR, "include", "galml", "version.hpp"), encoding="utf-8") as f:
            hpp = re.search(r'GALML_VERSION_STRING\s+"([^"]+)"', f.read()).group(1)
        self.assertEqual(hpp, recipe.version)
        # An explicit --version is kept.
        recipe.version = "9.9.9"
        recipe.set_version()
        self.assertEqual(recipe.version, "9.9.9")

    def test_options(self):
        r = self.module.GalmlConan
        self.assertEqual(r.options, {"with_fits": [True, False], "with_cuda": [True, False]})
        self.assertEqual(r.default_options, {"with_fits": True, "with_cuda": False})

    def _requirements(self, **opts):
        recipe = make_recipe(self.module, **opts)
        recipe.requirements()
        return {ref.split("/")[0]: (ref, kw) for ref, kw in recipe.recorded_requires}

    def test_requirements_per_option(self):
        reqs = self._requirements()
        self.assertEqual(set(reqs), {"eigen", "xtensor", "nlohmann_json", "cfitsio"})
        self.assertEqual(reqs["eigen"][0], "eigen/3.4.0")
        xt = reqs["xtensor"][0]
        m = re.fullmatch(r"xtensor/\[>=0\.24(\.0)? <0\.25\]", xt)
        self.assertIsNotNone(m, f"xtensor must be pinned to 0.24.x, got {xt}")
        for name in reqs:
            self.assertTrue(reqs[name][1].get("transitive_headers"), f"{name} headers are included by galml's")
        self.assertEqual(set(self._requirements(with_fits=False)), {"eigen", "xtensor", "nlohmann_json"})
        # with_cuda adds no Conan requirement (system CUDA toolkit).
        self.assertEqual(set(self._requirements(with_fits=False, with_cuda=True)), {"eigen", "xtensor", "nlohmann_json"})

    def test_package_type_and_id(self):
        recipe = make_recipe(self.module)
        recipe.configure()
        self.assertEqual(recipe.package_type, "header-library")
        recipe.package_id()
        self.assertTrue(recipe.info.cleared, "header-only: package_id must clear settings/options")

        recipe = make_recipe(self.module, with_cuda=True)
        recipe.configure()
        self.assertEqual(recipe.package_type, "static-library")
        recipe.package_id()
        self.assertFalse(recipe.info.cleared, "with_cuda builds a library: its id depends on settings")

    def test_validate(self):
        make_recipe(self.module).validate()
        make_recipe(self.module, with_cuda=True).validate()
        with self.assertRaises(StubError):
            make_recipe(self.module, os_name="Macos", with_cuda=True).validate()

    def _components(self, **opts):
        recipe = make_recipe(self.module, **opts)
        recipe.package_info()
        return recipe.cpp_info, dict(recipe.cpp_info.components)

    def test_components_match_cmake_targets(self):
        root, comps = self._components(with_cuda=True)
        self.assertEqual(root.properties.get("cmake_file_name"), "galml")
        targets = {c.properties.get("cmake_target_name") for c in comps.values()}
        self.assertEqual(targets, {"galml::galml", "galml::fits", "galml::cuda"})
        # Every component is a real CMake target of galml's own build (galml::cuda only when the
        # CUDA part, cmake/galml_cuda.cmake, is present in this checkout).
        aliases = cmake_alias_targets()
        self.assertIn("galml::galml", aliases)
        self.assertIn("galml::fits", aliases)
        if os.path.isfile(os.path.join(SOURCE_DIR, "cmake", "galml_cuda.cmake")):
            self.assertIn("galml::cuda", aliases)

        core, fits, cuda = comps["galml"], comps["fits"], comps["cuda"]
        self.assertEqual(set(core.requires), {"eigen::eigen", "xtensor::xtensor", "nlohmann_json::nlohmann_json"})
        self.assertEqual(core.libs, [])
        self.assertEqual(core.libdirs, [])
        self.assertEqual(set(fits.requires), {"galml", "cfitsio::cfitsio"})
        self.assertIn("GALML_WITH_FITS=1", fits.defines)
        self.assertEqual(fits.properties.get("pkg_config_name"), "galml-fits")
        self.assertEqual(core.properties.get("pkg_config_name"), "galml")
        self.assertEqual(cuda.requires, ["galml"])
        self.assertEqual(cuda.libs, ["galml_cuda"])
        self.assertEqual(set(cuda.system_libs), {"cudart", "cublas"})
        self.assertIn("GALML_WITH_CUDA=1", cuda.defines)

    def test_components_per_option(self):
        _, comps = self._components()
        self.assertEqual(set(comps), {"galml", "fits"})
        _, comps = self._components(with_fits=False)
        self.assertEqual(set(comps), {"galml"})

    def test_header_only_package_copies_headers_and_licence(self):
        CALLS.clear()
        recipe = make_recipe(self.module)
        recipe.generate()
        recipe.build()
        self.assertFalse([c for c in CALLS if c[0].startswith(("CMake", "PkgConfigDeps"))],
                         "header-only: nothing is configured or built")
        recipe.package()
        copies = [(c[1][1], c[2]["src"], c[2]["dst"]) for c in CALLS if c[0] == "copy"]
        self.assertIn(("LICENSE", SOURCE_DIR, "/tmp/galml-package/licenses"), copies)
        self.assertIn(("*", os.path.join(SOURCE_DIR, "include"), "/tmp/galml-package/include"), copies)

    def test_cuda_build_uses_cmake(self):
        CALLS.clear()
        recipe = make_recipe(self.module, with_cuda=True)
        recipe.generate()
        recipe.build()
        names = [c[0] for c in CALLS]
        self.assertIn("CMakeToolchain.generate", names)
        self.assertIn("PkgConfigDeps.generate", names)
        self.assertIn(("CMake.build", (), {"target": "galml_cuda"}), CALLS)


if __name__ == "__main__":
    unittest.main()
