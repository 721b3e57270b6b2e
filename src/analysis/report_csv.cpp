// CSV forms of the reports.
#include "modelexport/report_csv.h"

#include <iomanip>
#include <sstream>

#include "modelexport/report_text.h"

namespace modelexport {
namespace {

std::string joined(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
  return out;
}

std::string fixed(double value, int digits) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(digits) << value;
  return out.str();
}

}  // namespace

std::string csvField(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string renderAnalysisCsv(const AnalysisReport& report) {
  const auto field = csvField;
  std::ostringstream out;
  out << "index,name,op_type,hierarchy_path,hierarchy_method,hierarchy_module,hierarchy_tags,inputs,outputs\n";
  for (const auto& n : report.nodes)
    out << n.index << "," << field(n.name) << "," << field(n.opType) << "," << field(n.path.value_or("")) << ","
        << field(n.method.value_or("")) << "," << field(n.module.value_or("")) << "," << field(joined(n.tags, ";"))
        << "," << field(joined(n.inputs, ";")) << "," << field(joined(n.outputs, ";")) << "\n";
  return out.str();
}

std::string renderProfileCsv(const ProfileReport& report) {
  const auto field = csvField;
  std::ostringstream out;
  out << "tag,path,depth,own_us,total_us,own_share,total_share,own_calls,total_calls\n";
  for (const auto& m : report.modules)
    out << field(m.tag) << "," << field(m.path) << "," << m.depth << "," << fixed(m.ownUs, 3) << ","
        << fixed(m.totalUs, 3) << "," << fixed(m.ownShare, 6) << "," << fixed(m.totalShare, 6) << ","
        << kernelCalls(m.ownCalls) << "," << kernelCalls(m.totalCalls) << "\n";
  return out.str();
}

}  // namespace modelexport
