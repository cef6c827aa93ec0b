// hrmkit_module.cpp: the `hrmkit` Python module (pybind11) over the analyzer, so a PyTorch training
// script can vet its own configuration in one line before torchrun spends GPU time:
//
//   import hrmkit
//   r = hrmkit.analyze(config, data_path="data/sudoku-extreme-1k-aug-1000", num_gpus=8, strict=True)
//
// config: a dict in HRM's/TRM's layout (OmegaConf.to_container(hydra_cfg), PretrainConfig.model_dump(),
// an all_config.yaml loaded with yaml), or a path: *.toml is an hrmkit config, anything else HRM's
// hydra YAML (defaults composed from its folder). Returns the JSON report (reports/README.md) as a
// dict. Errors in the input raise hrmkit.ConfigError (a ValueError) with the message `hrm analyze`
// prints for exit code 2; strict=True raises hrmkit.RejectedError (its .report is the dict) when
// the verdict is "rejected". warnings_reject=True is `hrm analyze --strict`.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "analyzer/report.hpp"
#include "common/config.hpp"
#include "common/error.hpp"
#include "common/hrm_yaml_config.hpp"
#include "reports/render.hpp"

namespace py = pybind11;
using namespace pybind11::literals;

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

hrm::Config read_config(const py::object& config, const std::vector<std::string>& overrides) {
  if (py::isinstance<py::dict>(config)) {
    // JSON is YAML: the dict goes through the YAML reader, its keys checked as a file's would be.
    const std::string text = py::module_::import("json").attr("dumps")(config, py::arg("indent") = 1).cast<std::string>();
    return hrm::read_hrm_yaml_config(hrm::HydraSource{"<dict>", text}, overrides).config;
  }
  const std::string path = py::str(py::module_::import("os").attr("fspath")(config)).cast<std::string>();
  if (ends_with(path, ".toml")) {
    hrm::Config c = hrm::load_config(path);
    for (const auto& kv : overrides) hrm::apply_override(c, kv);
    hrm::validate_config(c);
    return c;
  }
  return hrm::load_hrm_yaml_config(path, overrides).config;
}

}  // namespace

PYBIND11_MODULE(hrmkit, m) {
  m.doc() = "hrmkit: the HRM pre-flight analyzer (analyze a training config before spending GPU time)";
  m.attr("__version__") = "0.1.0";
  // Exception classes live as long as the interpreter: leaked on purpose (no destructor after finalization).
  const auto make_class = [&](const char* name, PyObject* base, const char* doc) {
    auto* cls = new py::object(py::module_::import("builtins").attr("type")(
        name, py::make_tuple(py::handle(base)), py::dict("__module__"_a = "hrmkit", "__doc__"_a = doc)));
    m.attr(name) = *cls;
    return cls;
  };
  static py::object* config_error = make_class("ConfigError", PyExc_ValueError, "the config could not be read (hrm analyze's exit code 2)");
  static py::object* rejected = make_class("RejectedError", PyExc_RuntimeError, "the analyzer rejected the config; .report is the report");
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const hrm::InputError& e) {
      const std::string msg = e.hint().empty() ? e.what() : std::string(e.what()) + "\nhint: " + e.hint();
      PyErr_SetString(config_error->ptr(), msg.c_str());
    }
  });

  m.def(
      "analyze",
      [](const py::object& config, const py::object& data_path, const py::object& num_gpus, const py::object& gpu_memory_gb,
         const std::vector<std::string>& overrides, bool strict, bool warnings_reject) {
        hrm::Config c = read_config(config, overrides);
        if (!data_path.is_none()) {
          c.data.path = py::str(py::module_::import("os").attr("fspath")(data_path)).cast<std::string>();
          c.positions["data.path"] = hrm::SourcePos{"hrmkit.analyze(data_path=...)", 0, 0};
        }
        if (!num_gpus.is_none()) {
          c.hardware.num_gpus = num_gpus.cast<std::int64_t>();
          c.positions["hardware.num_gpus"] = hrm::SourcePos{"hrmkit.analyze(num_gpus=...)", 0, 0};
        }
        if (!gpu_memory_gb.is_none()) {
          c.hardware.gpu_memory_gb = gpu_memory_gb.cast<double>();
          c.positions["hardware.gpu_memory_gb"] = hrm::SourcePos{"hrmkit.analyze(gpu_memory_gb=...)", 0, 0};
        }
        hrm::validate_config(c);
        std::string json;
        {
          py::gil_scoped_release unlocked;  // the replay can take seconds on big datasets
          const hrm::Report report = hrm::analyze(c, hrm::AnalyzeOptions{warnings_reject});
          json = hrm::report_to_json(report).dump();
        }
        py::object report = py::module_::import("json").attr("loads")(json);
        if (strict && report["verdict"].cast<std::string>() == "rejected") {
          std::string first;
          for (const auto& f : report["findings"])
            if (f["severity"].cast<std::string>() == "error" || warnings_reject) { first = f["message"].cast<std::string>(); break; }
          py::object err = (*rejected)(fmt::format("hrmkit: the config is rejected: {}", first));
          err.attr("report") = report;
          PyErr_SetObject(rejected->ptr(), err.ptr());
          throw py::error_already_set();
        }
        return report;
      },
      py::arg("config"), py::kw_only(), py::arg("data_path") = py::none(), py::arg("num_gpus") = py::none(),
      py::arg("gpu_memory_gb") = py::none(), py::arg("overrides") = std::vector<std::string>{}, py::arg("strict") = false,
      py::arg("warnings_reject") = false,
      "Analyze a config (dict in HRM's layout, or a .yaml/.toml path); returns the JSON report as a dict.\n"
      "data_path / num_gpus / gpu_memory_gb set the dataset folder and hardware; overrides are HRM's KEY=VALUE\n"
      "(lr=1e-4, arch.L_cycles=8) or hrmkit keys (hardware.num_gpus=8). strict=True raises RejectedError\n"
      "when the verdict is 'rejected'; warnings_reject=True makes warnings reject (hrm analyze --strict).");

  m.def(
      "to_toml",
      [](const py::object& config, const std::vector<std::string>& overrides) {
        if (py::isinstance<py::dict>(config)) {
          const std::string text = py::module_::import("json").attr("dumps")(config, py::arg("indent") = 1).cast<std::string>();
          return hrm::hrm_yaml_to_toml(hrm::read_hrm_yaml_config(hrm::HydraSource{"<dict>", text}, overrides));
        }
        const std::string path = py::str(py::module_::import("os").attr("fspath")(config)).cast<std::string>();
        return hrm::hrm_yaml_to_toml(hrm::load_hrm_yaml_config(path, overrides));
      },
      py::arg("config"), py::kw_only(), py::arg("overrides") = std::vector<std::string>{},
      "HRM's/TRM's config (dict or YAML path) as the equivalent hrmkit TOML text (hrm config convert).");
}
