// Text and CSV forms of the analyze report.
#include <iomanip>
#include <sstream>

#include "modelexport/model_analysis.h"

namespace modelexport {
namespace {

std::string shapeText(const nlohmann::json& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ",";
    out += shape[i].is_string() ? shape[i].get<std::string>() : std::to_string(shape[i].get<long long>());
  }
  return out + "]";
}

std::string joined(const nlohmann::json& items, const char* sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i].get<std::string>();
  return out;
}

std::string humanBytes(unsigned long long bytes) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(2);
  if (bytes >= (1ull << 30)) out << bytes / double(1ull << 30) << " GiB";
  else if (bytes >= (1ull << 20)) out << bytes / double(1ull << 20) << " MiB";
  else if (bytes >= (1ull << 10)) out << bytes / double(1ull << 10) << " KiB";
  else out << bytes << " B";
  return out.str();
}

void writeModelFacts(std::ostream& out, const nlohmann::json& report) {
  const auto& model = report["model"];
  out << "File:       " << report["file"].get<std::string>() << "\n";
  out << "IR version: " << model["ir_version"] << "\n";
  out << "Opset:      ";
  for (size_t i = 0; i < model["opset_imports"].size(); ++i) {
    const auto& o = model["opset_imports"][i];
    out << (i ? ", " : "") << (o["domain"].get<std::string>().empty() ? "ai.onnx" : o["domain"].get<std::string>())
        << " " << o["version"];
  }
  out << "\nProducer:   " << model["producer_name"].get<std::string>() << " "
      << model["producer_version"].get<std::string>() << "\n";
  for (const char* side : {"inputs", "outputs"}) {
    out << (side[0] == 'i' ? "Inputs:\n" : "Outputs:\n");
    for (const auto& v : model[side])
      out << "  " << v["name"].get<std::string>() << ": " << v["dtype"].get<std::string>() << " "
          << shapeText(v["shape"]) << "\n";
  }
  const auto& p = model["parameters"];
  out << "Parameters: " << p["elements"] << " elements in " << p["initializers"] << " initializers, "
      << humanBytes(p["bytes"].get<unsigned long long>()) << " (" << p["bytes"] << " bytes)\n";
  const auto& h = report["hierarchy"];
  out << "Hierarchy:  from " << h["source"].get<std::string>() << "; " << h["nodes_tagged"] << " of "
      << h["nodes_total"] << " nodes tagged (" << std::fixed << std::setprecision(1)
      << 100.0 * h["coverage"].get<double>() << "%)\n";
  out.unsetf(std::ios::fixed);
  if (!h["filter"].is_null() || !h["exclude"].is_null()) {
    out << "Filter:     ";
    if (!h["filter"].is_null()) out << h["filter"].get<std::string>();
    if (!h["exclude"].is_null()) out << (h["filter"].is_null() ? "" : " ") << "excluding " << h["exclude"].get<std::string>();
    out << " (" << h["nodes_selected"] << " nodes)\n";
  }
}

}  // namespace

void writeModuleTree(std::ostream& out, const nlohmann::json& modules,
                     const std::function<std::string(const nlohmann::json& module)>& figures) {
  if (modules.empty()) return;
  int minDepth = modules[0]["depth"].get<int>();
  for (const auto& m : modules) minDepth = std::min(minDepth, m["depth"].get<int>());
  std::vector<bool> openLevels;  // whether the ancestor at each level has later siblings
  for (size_t i = 0; i < modules.size(); ++i) {
    const int d = modules[i]["depth"].get<int>() - minDepth;
    bool last = true;  // no later sibling: the next module at this depth or above is not one
    for (size_t j = i + 1; j < modules.size(); ++j) {
      const int dj = modules[j]["depth"].get<int>() - minDepth;
      if (dj <= d) {
        last = dj < d;
        break;
      }
    }
    openLevels.resize(static_cast<size_t>(d) + 1);
    openLevels[d] = !last;
    std::string prefix;
    for (int k = 1; k < d; ++k) prefix += openLevels[k] ? "│   " : "    ";
    if (d > 0) prefix += last ? "└── " : "├── ";
    const std::string tag = modules[i]["tag"].get<std::string>();
    const auto slash = tag.rfind('/');
    const bool whole = d == 0 || slash == std::string::npos || slash + 1 == tag.size();
    out << prefix << (whole ? tag : tag.substr(slash + 1)) << "  " << figures(modules[i]) << "\n";
  }
}

std::string renderAnalysisSummary(const nlohmann::json& report) {
  std::ostringstream out;
  writeModelFacts(out, report);
  const auto& h = report["hierarchy"];
  if (!h["methods"].empty()) {
    out << "Methods:   ";
    for (const auto& [method, count] : h["methods"].items()) out << " " << method << " " << count;
    out << "\n";
  }
  const auto& modules = h["modules"];
  if (!modules.empty()) {
    out << "\nModule tree (own / total nodes):\n";
    writeModuleTree(out, modules, [](const nlohmann::json& m) {
      std::ostringstream figures;
      figures << "(" << m["own_nodes"] << " / " << m["total_nodes"] << ")";
      return figures.str();
    });
  }
  out << "\nOp types (" << h["nodes_selected"] << " nodes):\n";
  std::vector<std::pair<long long, std::string>> ops;
  for (const auto& [op, count] : report["op_types"].items()) ops.emplace_back(-count.get<long long>(), op);
  std::sort(ops.begin(), ops.end());
  for (const auto& [negCount, op] : ops) out << "  " << std::left << std::setw(24) << op << -negCount << "\n";
  return out.str();
}

std::string renderAnalysisDetailed(const nlohmann::json& report) {
  std::ostringstream out;
  writeModelFacts(out, report);
  out << "\nNodes:\n";
  for (const auto& n : report["nodes"]) {
    out << "[" << n["index"] << "] " << n["name"].get<std::string>() << "  " << n["op_type"].get<std::string>() << "\n";
    if (!n["hierarchy_path"].is_null()) {
      out << "    hierarchy_path:   " << n["hierarchy_path"].get<std::string>() << "\n";
      // Tags need not be UTF-8 (ONNX strings are bytes): such bytes print as U+FFFD.
      out << "    hierarchy_tags:   " << n["hierarchy_tags"].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
          << "\n";
      out << "    hierarchy_method: " << (n["hierarchy_method"].is_null() ? "" : n["hierarchy_method"].get<std::string>()) << "\n";
      out << "    hierarchy_module: " << (n["hierarchy_module"].is_null() ? "" : n["hierarchy_module"].get<std::string>()) << "\n";
    } else {
      out << "    (no hierarchy)\n";
    }
    out << "    inputs:  " << joined(n["inputs"], ", ") << "\n";
    out << "    outputs: " << joined(n["outputs"], ", ") << "\n";
  }
  return out.str();
}

std::string csvField(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string renderAnalysisCsv(const nlohmann::json& report) {
  const auto field = csvField;
  auto str = [](const nlohmann::json& v) { return v.is_null() ? std::string() : v.get<std::string>(); };
  std::ostringstream out;
  out << "index,name,op_type,hierarchy_path,hierarchy_method,hierarchy_module,hierarchy_tags,inputs,outputs\n";
  for (const auto& n : report["nodes"])
    out << n["index"] << "," << field(n["name"].get<std::string>()) << "," << field(n["op_type"].get<std::string>())
        << "," << field(str(n["hierarchy_path"])) << "," << field(str(n["hierarchy_method"])) << ","
        << field(str(n["hierarchy_module"])) << "," << field(joined(n["hierarchy_tags"], ";")) << ","
        << field(joined(n["inputs"], ";")) << "," << field(joined(n["outputs"], ";")) << "\n";
  return out.str();
}

std::string renderAnalysisNames(const nlohmann::json& report) {
  std::string out;
  for (const auto& n : report["nodes"]) {
    const std::string name = n["name"].get<std::string>();
    if (!name.empty()) out += name + "\n";
  }
  return out;
}

}  // namespace modelexport
