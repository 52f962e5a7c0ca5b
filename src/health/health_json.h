// JSON views of the health picture, for the HTTP admin endpoint (/cluster). Field names are
// documented in docs/CLUSTER.md.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "health/finding.h"
#include "health/health_prober.h"
#include "health/node_report.h"

namespace reckon::health {

nlohmann::json finding_to_json(const Finding& f);
nlohmann::json findings_to_json(const std::vector<Finding>& findings);
nlohmann::json report_to_json(const NodeReport& r);
// {"round", "taken_at_ms", "healthy", "nodes": [...], "findings": [...]}; healthy = no finding
// of severity error or critical.
nlohmann::json snapshot_to_json(const HealthSnapshot& s);

}  // namespace reckon::health
