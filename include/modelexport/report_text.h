#pragma once
// The text forms of every report (analyze, compare, profile, validate and its repair,
// restamp),
// written from the report structs.
#include <string>

#include "modelexport/hierarchy_restamp.h"
#include "modelexport/model_analysis.h"
#include "modelexport/model_comparison.h"
#include "modelexport/model_validation.h"
#include "modelexport/runtime_profile.h"

namespace modelexport {

std::string renderAnalysisSummary(const AnalysisReport& report);
std::string renderAnalysisDetailed(const AnalysisReport& report);
// The selected nodes' names, one per line (unnamed nodes cannot be named and are skipped).
std::string renderAnalysisNames(const AnalysisReport& report);

std::string renderComparisonSummary(const ComparisonReport& report);

std::string renderProfileText(const ProfileReport& report);
// Kernel calls per run: a whole number unless runs differ in what they launch (CSV too).
std::string kernelCalls(double perRun);

std::string renderValidationText(const ValidationReport& report);
std::string renderRepairText(const RepairReport& repair);

std::string renderRestampText(const RestampReport& report);

}  // namespace modelexport
