#pragma once
// The JSON form of every report (analyze, compare, profile, validate and its repair):
// one place that names the fields. Schemas: docs/ANALYZE_JSON.md and docs/CLI.md.
#include <nlohmann/json.hpp>

#include "modelexport/model_analysis.h"
#include "modelexport/model_comparison.h"
#include "modelexport/model_validation.h"
#include "modelexport/runtime_profile.h"

namespace modelexport {

nlohmann::json toJson(const AnalysisReport& report);
nlohmann::json toJson(const ComparisonReport& report);
nlohmann::json toJson(const ProfileReport& report);
// With `repair` (validate --repair), its changes under "repair".
nlohmann::json toJson(const ValidationReport& report, const RepairReport* repair = nullptr);

}  // namespace modelexport
