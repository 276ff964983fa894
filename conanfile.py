# Conan 2 recipe for galml, a header-only C++20 deep-learning library.
#
#   conan create . -o "galml/*:with_fits=True" -o "galml/*:with_cuda=False"
#
# Options
#   with_fits (default True)   component galml::fits: FITS I/O through cfitsio (requires cfitsio)
#   with_cuda (default False)  component galml::cuda: the compiled CUDA kernels (galml_cuda, a static
#                              library built with galml's CMake and the system CUDA toolkit: Conan
#                              Center has no CUDA toolkit package). Turns the package into a
#                              static-library package with a settings-dependent package id.
#
# The components mirror the targets of galml's own CMake package (galmlConfig.cmake):
#   galml::galml  headers + Eigen + Threads (+ nlohmann_json, xtensor for Conan consumers)
#   galml::fits   + cfitsio, GALML_WITH_FITS=1
#   galml::cuda   libgalml_cuda.a + cudart + cublas, GALML_WITH_CUDA=1
#
# Status: checked only by tests/install/test_conanfile.py (the recipe imported with a stub `conan`
# module). `conan create` has NOT been run: Conan is not installable on the development machines.
import os
import re

from conan import ConanFile
from conan.errors import ConanInvalidConfiguration
from conan.tools.build import check_min_cppstd
from conan.tools.cmake import CMake, CMakeDeps, CMakeToolchain, cmake_layout
from conan.tools.env import Environment
from conan.tools.files import copy, rmdir
from conan.tools.gnu import PkgConfigDeps

required_conan_version = ">=2.0"


def read_galml_version(folder):
    """project(galml VERSION x.y.z) from CMakeLists.txt, else GALML_VERSION_STRING from version.hpp."""
    cmakelists = os.path.join(folder, "CMakeLists.txt")
    if os.path.isfile(cmakelists):
        with open(cmakelists, encoding="utf-8") as f:
            m = re.search(r"project\(\s*galml\s+VERSION\s+([0-9]+\.[0-9]+\.[0-9]+)", f.read())
        if m:
            return m.group(1)
    header = os.path.join(folder, "include", "galml", "version.hpp")
    if os.path.isfile(header):
        with open(header, encoding="utf-8") as f:
            m = re.search(r'#define\s+GALML_VERSION_STRING\s+"([^"]+)"', f.read())
        if m:
            return m.group(1)
    raise ConanInvalidConfiguration(f"galml: no project(galml VERSION ...) or version.hpp under {folder}")


class GalmlConan(ConanFile):
    name = "galml"
    description = "Header-only C++20 deep learning for astronomical survey data"
    license = "MIT"
    topics = ("deep-learning", "neural-networks", "astronomy", "spectroscopy", "fits", "header-only")
    package_type = "header-library"
    settings = "os", "arch", "compiler", "build_type"
    options = {"with_fits": [True, False], "with_cuda": [True, False]}
    default_options = {"with_fits": True, "with_cuda": False}
    exports_sources = ("CMakeLists.txt", "cmake/*", "include/*", "src/*", "LICENSE")
    no_copy_source = True

    def set_version(self):
        if not self.version:
            self.version = read_galml_version(self.recipe_folder)

    def configure(self):
        if self.options.with_cuda:
            self.package_type = "static-library"

    def layout(self):
        cmake_layout(self, src_folder=".")

    def requirements(self):
        # Headers of galml include Eigen's (and users' code includes galml's), so they are transitive.
        self.requires("eigen/3.4.0", transitive_headers=True)
        # galml/core/xtensor.hpp (opt-in interop) includes xtensor.
        self.requires("xtensor/[>=0.24.0 <0.25]", transitive_headers=True)
        # metrics/, report/json.hpp and io/safetensors.hpp include <nlohmann/json.hpp>.
        self.requires("nlohmann_json/[>=3.11.2 <4]", transitive_headers=True)
        if self.options.with_fits:
            self.requires("cfitsio/[>=4.1.0 <5]", transitive_headers=True, transitive_libs=True)

    def package_id(self):
        # Header-only: one package for every compiler/OS/build type and option value (package_info
        # still declares the components from the consumer's options).
        if not self.info.options.with_cuda:
            self.info.clear()

    def validate(self):
        if self.settings.get_safe("compiler.cppstd"):
            check_min_cppstd(self, 20)
        if self.options.with_cuda and self.settings.os not in ("Linux", "Windows"):
            raise ConanInvalidConfiguration("galml: with_cuda needs Linux or Windows with a CUDA toolkit")

    def generate(self):
        if not self.options.with_cuda:
            return  # nothing to build
        tc = CMakeToolchain(self)
        tc.cache_variables["GALML_WITH_CUDA"] = True
        tc.cache_variables["GALML_WITH_FITS"] = bool(self.options.with_fits)
        tc.cache_variables["GALML_BUILD_TESTS"] = False
        tc.cache_variables["GALML_BUILD_EXAMPLES"] = False
        tc.cache_variables["GALML_BUILD_BENCHMARKS"] = False
        tc.generate()
        CMakeDeps(self).generate()  # Eigen3Config.cmake for find_package(Eigen3 NO_MODULE)
        if self.options.with_fits:
            # galml's CMake finds cfitsio with pkg_check_modules: give it Conan's cfitsio.pc.
            PkgConfigDeps(self).generate()
            env = Environment()
            env.prepend_path("PKG_CONFIG_PATH", self.generators_folder)
            env.vars(self).save_script("galml_pkg_config_path")

    def build(self):
        if not self.options.with_cuda:
            return
        cmake = CMake(self)
        cmake.configure()
        cmake.build(target="galml_cuda")

    def package(self):
        copy(self, "LICENSE", src=self.source_folder, dst=os.path.join(self.package_folder, "licenses"))
        if self.options.with_cuda:
            cmake = CMake(self)
            cmake.install()
            # Conan's generators (CMakeDeps, PkgConfigDeps) describe the package from package_info.
            for sub in ("lib/cmake", "share/cmake", "lib/pkgconfig", "share/pkgconfig"):
                rmdir(self, os.path.join(self.package_folder, sub))
        else:
            copy(self, "*", src=os.path.join(self.source_folder, "include"),
                 dst=os.path.join(self.package_folder, "include"))

    def package_info(self):
        self.cpp_info.set_property("cmake_file_name", "galml")
        self.cpp_info.set_property("pkg_config_name", "galml-all")  # per-component .pc files below
        self.cpp_info.bindirs = []
        self.cpp_info.libdirs = []

        core = self.cpp_info.components["galml"]
        core.set_property("cmake_target_name", "galml::galml")
        core.set_property("pkg_config_name", "galml")
        core.requires = ["eigen::eigen", "xtensor::xtensor", "nlohmann_json::nlohmann_json"]
        core.bindirs = []
        core.libdirs = []
        if self.settings.os in ("Linux", "FreeBSD"):
            core.system_libs = ["pthread"]

        if self.options.with_fits:
            fits = self.cpp_info.components["fits"]
            fits.set_property("cmake_target_name", "galml::fits")
            fits.set_property("pkg_config_name", "galml-fits")
            fits.requires = ["galml", "cfitsio::cfitsio"]
            fits.defines = ["GALML_WITH_FITS=1"]
            fits.bindirs = []
            fits.libdirs = []

        if self.options.with_cuda:
            cuda = self.cpp_info.components["cuda"]
            cuda.set_property("cmake_target_name", "galml::cuda")
            cuda.set_property("pkg_config_name", "galml-cuda")
            cuda.requires = ["galml"]
            cuda.libs = ["galml_cuda"]
            cuda.libdirs = ["lib"]
            cuda.bindirs = []
            cuda.defines = ["GALML_WITH_CUDA=1"]
            # From the system CUDA toolkit (not a Conan package); its lib dir must be on the linker path.
            cuda.system_libs = ["cudart", "cublas"]
