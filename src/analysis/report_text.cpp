// Text forms of the reports.
#include "modelexport/report_text.h"

#include <algorithm>
#include <iomanip>
#include <sstream>

#include <nlohmann/json.hpp>

namespace modelexport {
namespace {

std::string shapeText(const std::vector<ShapeDim>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ",";
    out += shape[i].size ? std::to_string(*shape[i].size) : shape[i].param;
  }
  return out + "]";
}

std::string joined(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
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

void writeModelFacts(std::ostream& out, const AnalysisReport& report) {
  const ModelFacts& model = report.model;
  out << "File:       " << report.file << "\n";
  out << "IR version: " << model.irVersion << "\n";
  out << "Opset:      ";
  for (size_t i = 0; i < model.opsets.size(); ++i) {
    const auto& o = model.opsets[i];
    out << (i ? ", " : "") << (o.domain.empty() ? "ai.onnx" : o.domain) << " " << o.version;
  }
  out << "\nProducer:   " << model.producerName << " " << model.producerVersion << "\n";
  out << "Inputs:\n";
  for (const auto& v : model.inputs) out << "  " << v.name << ": " << v.dtype << " " << shapeText(v.shape) << "\n";
  out << "Outputs:\n";
  for (const auto& v : model.outputs) out << "  " << v.name << ": " << v.dtype << " " << shapeText(v.shape) << "\n";
  out << "Parameters: " << model.parameterElements << " elements in " << model.initializers << " initializers, "
      << humanBytes(model.parameterBytes) << " (" << model.parameterBytes << " bytes)\n";
  const HierarchyCoverage& h = report.hierarchy;
  out << "Hierarchy:  from " << h.source << "; " << h.nodesTagged << " of " << h.nodesTotal << " nodes tagged ("
      << std::fixed << std::setprecision(1) << 100.0 * h.coverage << "%)\n";
  out.unsetf(std::ios::fixed);
  if (h.filter || h.exclude) {
    out << "Filter:     ";
    if (h.filter) out << *h.filter;
    if (h.exclude) out << (h.filter ? " " : "") << "excluding " << *h.exclude;
    out << " (" << h.nodesSelected << " nodes)\n";
  }
}

// One line of a module tree: where the module sits and what is said of it.
struct TreeLine {
  std::string tag;
  int depth = 0;
  std::string figures;
};

// Draws modules listed depth first as a tree, one line per module: branch lines, the
// tag's last segment (the whole tag at the top), two spaces and its figures.
void writeModuleTree(std::ostream& out, const std::vector<TreeLine>& modules) {
  if (modules.empty()) return;
  int minDepth = modules[0].depth;
  for (const auto& m : modules) minDepth = std::min(minDepth, m.depth);
  std::vector<bool> openLevels;  // whether the ancestor at each level has later siblings
  for (size_t i = 0; i < modules.size(); ++i) {
    const int d = modules[i].depth - minDepth;
    bool last = true;  // no later sibling: the next module at this depth or above is not one
    for (size_t j = i + 1; j < modules.size(); ++j) {
      const int dj = modules[j].depth - minDepth;
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
    const std::string& tag = modules[i].tag;
    const auto slash = tag.rfind('/');
    const bool whole = d == 0 || slash == std::string::npos || slash + 1 == tag.size();
    out << prefix << (whole ? tag : tag.substr(slash + 1)) << "  " << modules[i].figures << "\n";
  }
}

std::string fixed(double value, int digits) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(digits) << value;
  return out.str();
}

std::string percent(double share) { return fixed(100.0 * share, 1) + "%"; }

}  // namespace

std::string kernelCalls(double perRun) {
  // Whole numbers unless runs differ in what they launch.
  return perRun == static_cast<double>(static_cast<long long>(perRun)) ? std::to_string(static_cast<long long>(perRun))
                                                                       : fixed(perRun, 2);
}

std::string renderAnalysisSummary(const AnalysisReport& report) {
  std::ostringstream out;
  writeModelFacts(out, report);
  const HierarchyCoverage& h = report.hierarchy;
  if (!h.methods.empty()) {
    out << "Methods:   ";
    for (const auto& [method, count] : h.methods) out << " " << method << " " << count;
    out << "\n";
  }
  if (!h.modules.empty()) {
    out << "\nModule tree (own / total nodes):\n";
    std::vector<TreeLine> lines;
    for (const auto& m : h.modules)
      lines.push_back({m.tag, m.depth, "(" + std::to_string(m.ownNodes) + " / " + std::to_string(m.totalNodes) + ")"});
    writeModuleTree(out, lines);
  }
  out << "\nOp types (" << h.nodesSelected << " nodes):\n";
  std::vector<std::pair<long long, std::string>> ops;
  for (const auto& [op, count] : report.opTypes) ops.emplace_back(-static_cast<long long>(count), op);
  std::sort(ops.begin(), ops.end());
  for (const auto& [negCount, op] : ops) out << "  " << std::left << std::setw(24) << op << -negCount << "\n";
  return out.str();
}

std::string renderAnalysisDetailed(const AnalysisReport& report) {
  std::ostringstream out;
  writeModelFacts(out, report);
  out << "\nNodes:\n";
  for (const auto& n : report.nodes) {
    out << "[" << n.index << "] " << n.name << "  " << n.opType << "\n";
    if (n.path) {
      out << "    hierarchy_path:   " << *n.path << "\n";
      // Tags need not be UTF-8 (ONNX strings are bytes): such bytes print as U+FFFD.
      out << "    hierarchy_tags:   "
          << nlohmann::json(n.tags).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
      out << "    hierarchy_method: " << n.method.value_or("") << "\n";
      out << "    hierarchy_module: " << n.module.value_or("") << "\n";
    } else {
      out << "    (no hierarchy)\n";
    }
    out << "    inputs:  " << joined(n.inputs, ", ") << "\n";
    out << "    outputs: " << joined(n.outputs, ", ") << "\n";
  }
  return out.str();
}

std::string renderAnalysisNames(const AnalysisReport& report) {
  std::string out;
  for (const auto& n : report.nodes)
    if (!n.name.empty()) out += n.name + "\n";
  return out;
}

namespace {

// "  title: N" and the first ten items.
void listSome(std::ostream& out, const char* title, const std::vector<std::string>& items) {
  out << "  " << title << ": " << items.size() << "\n";
  for (size_t k = 0; k < items.size() && k < 10; ++k) out << "    " << items[k] << "\n";
  if (items.size() > 10) out << "    ...\n";
}

void writeStructureComparison(std::ostream& out, const StructureComparison& s) {
  out << "Structure:\n";
  out << "  inputs:  " << (s.inputs.equal ? "same" : "differ") << "\n";
  out << "  outputs: " << (s.outputs.equal ? "same" : "differ") << "\n";
  out << "  op types: " << (s.opTypesEqual ? "same counts" : "counts differ") << "\n";
  for (const auto& c : s.opTypeCounts)
    if (c.a != c.b) out << "    " << c.opType << ": " << c.a << " vs " << c.b << "\n";
  const auto& i = s.initializers;
  out << "  initializers: " << i.a << " vs " << i.b << "; " << i.identical << " identical, " << i.onlyInA.size()
      << " only in A, " << i.onlyInB.size() << " only in B, " << i.shapeOrDtypeDiffers.size()
      << " shape/dtype differ, " << i.bytesDiffer.size() << " bytes differ\n\n";
}

void writeHierarchyComparison(std::ostream& out, const HierarchyComparison& h) {
  out << "Hierarchy (compared by " << h.comparedBy << "):\n";
  listSome(out, "modules only in A", h.modulesOnlyInA);
  listSome(out, "modules only in B", h.modulesOnlyInB);
  out << "  modules whose node count differs: " << h.moduleNodeCounts.size() << "\n";
  for (size_t k = 0; k < h.moduleNodeCounts.size() && k < 10; ++k) {
    const auto& c = h.moduleNodeCounts[k];
    out << "    " << c.module << ": " << c.a << " vs " << c.b << "\n";
  }
  if (h.moduleNodeCounts.size() > 10) out << "    ... (--output-file has them all)\n";
  out << "  matched nodes: " << h.matchedNodes << " (";
  bool first = true;
  for (const auto& [method, count] : h.matchedBy) {
    out << (first ? "" : ", ") << method << " " << count;
    first = false;
  }
  out << "); unmatched: " << h.unmatchedA << " in A, " << h.unmatchedB << " in B\n";
  out << "  same tag: " << h.sameTag << ", different tag: " << h.tagDifferences.size() << "\n";
  for (size_t k = 0; k < h.tagDifferences.size() && k < 15; ++k) {
    const auto& d = h.tagDifferences[k];
    out << "    " << d.opType << " A " << d.aTag << " (" << d.aMethod << ")  B " << d.bTag << " (" << d.bMethod << ")\n";
  }
  if (h.tagDifferences.size() > 15) out << "    ... (--output-file has them all)\n";
}

}  // namespace

std::string renderComparisonSummary(const ComparisonReport& report) {
  std::ostringstream out;
  for (const auto* side : {&report.a, &report.b})
    out << (side == &report.a ? "A: " : "B: ") << side->file << " (" << side->nodes << " nodes, hierarchy from "
        << side->hierarchySource << ")\n";
  out << "\n";
  writeStructureComparison(out, report.structure);
  writeHierarchyComparison(out, report.hierarchy);
  return out.str();
}

std::string renderProfileText(const ProfileReport& report) {
  std::ostringstream out;
  out << "Model:      " << report.file << " (hierarchy from " << report.hierarchySource << ")\n";
  out << "Profile:    " << report.profile << ": " << report.runs << " run(s), " << report.kernelEvents
      << " kernel events; " << fixed(report.runUs, 1) << " us per run in kernels (model_run "
      << fixed(report.modelRunUs, 1) << " us)\n";
  const double run = report.runUs;
  if (report.filter) out << "Filter:     " << *report.filter << ": " << fixed(report.selectedUs, 1) << " us per run\n";
  out << "Attributed: " << fixed(report.attributedUs, 1) << " us (" << percent(run > 0 ? report.attributedUs / run : 0)
      << ") in " << report.nodes.size() << " nodes (";
  bool first = true;
  for (const auto& [how, count] : report.attribution) {
    out << (first ? "" : ", ") << "by " << how << " " << count;
    first = false;
  }
  out << "); unattributed " << fixed(report.unattributedUs, 1) << " us ("
      << percent(run > 0 ? report.unattributedUs / run : 0) << ") in " << report.unattributed.size() << " nodes\n";

  if (!report.modules.empty()) {
    out << "\nModule tree (own / total us per run, share of the run, kernel calls per run):\n";
    std::vector<TreeLine> lines;
    for (const auto& m : report.modules)
      lines.push_back({m.tag, m.depth,
                       "(" + fixed(m.ownUs, 1) + " / " + fixed(m.totalUs, 1) + " us, " + percent(m.totalShare) + ", " +
                           kernelCalls(m.totalCalls) + " calls)"});
    writeModuleTree(out, lines);
  }
  out << "\nSlowest modules (own time):\n";
  for (const auto& m : report.topModules)
    out << "  " << std::right << std::setw(10) << fixed(m.ownUs, 1) << " us  " << std::setw(6) << percent(m.ownShare)
        << "  " << m.tag << "\n";
  out << "\nSlowest op types:\n";
  for (const auto& o : report.topOpTypes)
    out << "  " << std::right << std::setw(10) << fixed(o.us, 1) << " us  " << std::setw(6) << percent(o.share) << "  "
        << o.opType << " x" << kernelCalls(o.calls) << "\n";
  if (!report.unattributed.empty()) {
    out << "\nUnattributed (no node, derived name or module scope in the model):\n";
    for (const auto& n : report.unattributed)
      out << "  " << std::right << std::setw(10) << fixed(n.us, 1) << " us  " << n.opType << "  " << n.name << "\n";
  }
  return out.str();
}

std::string renderValidationText(const ValidationReport& report) {
  std::ostringstream out;
  out << report.file << "\n";
  out << "  ONNX checker (full): " << (report.checkerPassed ? "passed" : "FAILED: " + report.checkerError) << "\n";
  if (report.consistencyChecked) {
    const auto& problems = report.problems;
    out << "  hierarchy: from " << report.hierarchySource
        << (report.sidecarPath.empty() ? "; no sidecar" : "; sidecar " + report.sidecarPath) << "\n";
    out << "  consistency: " << (problems.empty() ? "passed" : std::to_string(problems.size()) + " problem(s)") << "\n";
    const size_t shown = 50;
    for (size_t i = 0; i < problems.size() && i < shown; ++i)
      out << "    [" << problems[i].check << "] " << (problems[i].node.empty() ? "" : problems[i].node + ": ")
          << problems[i].message << "\n";
    if (problems.size() > shown)
      out << "    ... and " << problems.size() - shown << " more (--output-format json lists all)\n";
  }
  out << (report.valid() ? "valid" : "invalid") << "\n";
  return out.str();
}

std::string renderRepairText(const RepairReport& repair) {
  std::ostringstream out;
  out << "repaired " << repair.source << " -> " << repair.written << ": " << repair.changes.size() << " change(s)"
      << (repair.backup ? " (original kept as " + *repair.backup + ")" : "") << "\n";
  for (const auto& c : repair.changes) out << "  " << c.node << ": " << c.change << "\n";
  return out.str();
}

namespace {

const char* restampMethodMeaning(const std::string& method) {
  if (method == "stamp") return "kept the stamp the node still carried";
  if (method == "name") return "from the reference node of its name, or the name it derives from";
  if (method == "tensors") return "from the reference nodes it replaces, found by the tensors it reads and writes";
  return "projected from the nodes that consume its outputs (or produce its inputs)";
}

}  // namespace

std::string renderRestampText(const RestampReport& report) {
  const RestampSummary& summary = report.summary;
  std::ostringstream out;
  out << "restamped " << report.optimized << " -> " << report.output << " from " << report.reference << ": "
      << summary.nodes << " nodes, all stamped; " << report.checker << "\n";
  for (const char* method : {"stamp", "name", "tensors", "projection"}) {
    const size_t n = summary.byMethod.count(method) ? summary.byMethod.at(method) : 0;
    out << "  " << std::left << std::setw(11) << method << std::right << std::setw(6) << n << "  (" << std::fixed
        << std::setprecision(1) << std::setw(5)
        << (summary.nodes ? 100.0 * static_cast<double>(n) / static_cast<double>(summary.nodes) : 0.0) << "%)  "
        << restampMethodMeaning(method) << "\n";
  }
  out << "  " << summary.spanning << " nodes span several modules (hierarchy_count > 1)\n";
  return out.str();
}

}  // namespace modelexport
