// Text and CSV forms of the profile report.
#include <iomanip>
#include <sstream>

#include "modelexport/model_analysis.h"
#include "modelexport/runtime_profile.h"

namespace modelexport {
namespace {

std::string fixed(double value, int digits) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(digits) << value;
  return out.str();
}

std::string percent(double share) { return fixed(100.0 * share, 1) + "%"; }

std::string calls(double perRun) {
  // Whole numbers unless runs differ in what they launch.
  return perRun == static_cast<double>(static_cast<long long>(perRun)) ? std::to_string(static_cast<long long>(perRun))
                                                                       : fixed(perRun, 2);
}

}  // namespace

std::string renderProfileText(const nlohmann::json& report) {
  std::ostringstream out;
  out << "Model:      " << report["file"].get<std::string>() << " (hierarchy from "
      << report["hierarchy_source"].get<std::string>() << ")\n";
  out << "Profile:    " << report["profile"].get<std::string>() << ": " << report["runs"] << " run(s), "
      << report["kernel_events"] << " kernel events; " << fixed(report["run_us"].get<double>(), 1)
      << " us per run in kernels (model_run " << fixed(report["model_run_us"].get<double>(), 1) << " us)\n";
  const double run = report["run_us"].get<double>();
  const double attributed = report["attributed_us"].get<double>(), unattributed = report["unattributed_us"].get<double>();
  if (!report["filter"].is_null())
    out << "Filter:     " << report["filter"].get<std::string>() << ": "
        << fixed(report["selected_us"].get<double>(), 1) << " us per run\n";
  out << "Attributed: " << fixed(attributed, 1) << " us (" << percent(run > 0 ? attributed / run : 0) << ") in "
      << report["nodes"].size() << " nodes (";
  bool first = true;
  for (const auto& [how, count] : report["attribution"].items()) {
    out << (first ? "" : ", ") << "by " << how << " " << count;
    first = false;
  }
  out << "); unattributed " << fixed(unattributed, 1) << " us (" << percent(run > 0 ? unattributed / run : 0)
      << ") in " << report["unattributed"].size() << " nodes\n";

  const auto& modules = report["modules"];
  if (!modules.empty()) {
    out << "\nModule tree (own / total us per run, share of the run, kernel calls per run):\n";
    writeModuleTree(out, modules, [](const nlohmann::json& m) {
      return "(" + fixed(m["own_us"].get<double>(), 1) + " / " + fixed(m["total_us"].get<double>(), 1) + " us, " +
             percent(m["total_share"].get<double>()) + ", " + calls(m["total_calls"].get<double>()) + " calls)";
    });
  }
  out << "\nSlowest modules (own time):\n";
  for (const auto& m : report["top_modules"])
    out << "  " << std::right << std::setw(10) << fixed(m["own_us"].get<double>(), 1) << " us  " << std::setw(6)
        << percent(m["own_share"].get<double>()) << "  " << m["tag"].get<std::string>() << "\n";
  out << "\nSlowest op types:\n";
  for (const auto& o : report["top_op_types"])
    out << "  " << std::right << std::setw(10) << fixed(o["us"].get<double>(), 1) << " us  " << std::setw(6)
        << percent(o["share"].get<double>()) << "  " << o["op_type"].get<std::string>() << " x"
        << calls(o["calls"].get<double>()) << "\n";
  if (!report["unattributed"].empty()) {
    out << "\nUnattributed (no node, derived name or module scope in the model):\n";
    for (const auto& n : report["unattributed"])
      out << "  " << std::right << std::setw(10) << fixed(n["us"].get<double>(), 1) << " us  "
          << n["op_type"].get<std::string>() << "  " << n["name"].get<std::string>() << "\n";
  }
  return out.str();
}

std::string renderProfileCsv(const nlohmann::json& report) {
  const auto field = csvField;
  std::ostringstream out;
  out << "tag,path,depth,own_us,total_us,own_share,total_share,own_calls,total_calls\n";
  for (const auto& m : report["modules"])
    out << field(m["tag"].get<std::string>()) << "," << field(m["path"].get<std::string>()) << "," << m["depth"]
        << "," << fixed(m["own_us"].get<double>(), 3) << "," << fixed(m["total_us"].get<double>(), 3) << ","
        << fixed(m["own_share"].get<double>(), 6) << "," << fixed(m["total_share"].get<double>(), 6) << ","
        << calls(m["own_calls"].get<double>()) << "," << calls(m["total_calls"].get<double>()) << "\n";
  return out.str();
}

}  // namespace modelexport
