// JSON forms of the collectors' reports, for context.json (keys = the struct's field names).
#pragma once

#include <nlohmann/json.hpp>

#include "nfb/collectors/icmp_rtt.h"
#include "nfb/collectors/pcap_capture.h"
#include "nfb/collectors/timestamp_resolution.h"

namespace nfb::collectors {

nlohmann::json ToJson(const CaptureReport& report);
nlohmann::json ToJson(const TimestampResolution& resolution);
nlohmann::json ToJson(const EchoAccounting& accounting);

}  // namespace nfb::collectors
