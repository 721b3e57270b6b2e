#pragma once
// The CSV forms of the reports: analyze (one row per selected node) and profile (one row
// per module).
#include <string>

#include "modelexport/model_analysis.h"
#include "modelexport/runtime_profile.h"

namespace modelexport {

// A CSV field: quoted (quotes doubled) when it holds a comma, quote or newline.
std::string csvField(const std::string& text);

std::string renderAnalysisCsv(const AnalysisReport& report);
std::string renderProfileCsv(const ProfileReport& report);  // one row per module

}  // namespace modelexport
