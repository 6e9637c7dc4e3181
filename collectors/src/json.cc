#include "nfb/collectors/json.h"

namespace nfb::collectors {

nlohmann::json ToJson(const CaptureReport& r) {
  return {
      {"timestamp_type", r.timestamp_type},
      {"timestamp_types_offered", r.timestamp_types_offered},
      {"nanosecond", r.nanosecond},
      {"packets_written", r.packets_written},
      {"ps_recv", r.ps_recv},
      {"ps_drop", r.ps_drop},
      {"ps_ifdrop", r.ps_ifdrop},
      {"thread_cpu_s", r.thread_cpu_s},
  };
}

nlohmann::json ToJson(const TimestampResolution& r) {
  return {
      {"resolution_ns", r.resolution_ns},
      {"method", r.method},
      {"fit_fraction", r.fit_fraction},
      {"smallest_step_ns", r.smallest_step_ns},
      {"packets", r.packets},
      {"intervals", r.intervals},
      {"equal_timestamps", r.equal_timestamps},
      {"file_nanosecond", r.file_nanosecond},
  };
}

nlohmann::json ToJson(const EchoAccounting& a) {
  return {
      {"sent_known", a.sent_known},
      {"sent", a.sent},
      {"paired", a.paired},
      {"lost", a.lost},
      {"missing_from_capture", a.missing_from_capture},
      {"replies_without_request", a.replies_without_request},
      {"duplicate_requests", a.duplicate_requests},
      {"duplicate_replies", a.duplicate_replies},
      {"packets_total", a.packets_total},
      {"packets_ignored", a.packets_ignored},
      {"warmup_packets", a.warmup_packets},
      {"out_of_range", a.out_of_range},
      {"echo_packets", a.echo_packets},
  };
}

}  // namespace nfb::collectors
