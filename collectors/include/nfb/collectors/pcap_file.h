// Reading capture files with nanosecond timestamps, shared by the analyses in this library.
//
// Wraps libpcap's offline reader so that every analysis gets the same guarantees: timestamps in
// integer nanoseconds whatever the file's precision, the link type checked up front, and
// truncated or corrupt files reported as InputError naming the file instead of ending a loop
// early as if the capture were shorter.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

struct pcap;  // libpcap's pcap_t, kept out of this header

namespace nfb::collectors {

// Link-layer header types the analyses understand (values are libpcap's DLT_* numbers).
enum class LinkType : int {
  kEthernet = 1,     // DLT_EN10MB
  kLinuxSll = 113,   // DLT_LINUX_SLL, e.g. `tcpdump -i any` with older libpcap
  kLinuxSll2 = 276,  // DLT_LINUX_SLL2, `tcpdump -i any` with libpcap >= 1.10
};

// One packet, valid until the next call to PcapReader::Next().
struct PacketView {
  int64_t ts_ns = 0;  // capture time, nanoseconds since the epoch of the capture clock
  const uint8_t* data = nullptr;
  uint32_t caplen = 0;    // bytes present in `data`
  uint32_t wire_len = 0;  // length of the packet on the wire
};

class PcapReader {
 public:
  // Opens a pcap or pcapng file. Throws InputError if the file cannot be opened, is not a capture
  // file, or its link type is not one of LinkType.
  explicit PcapReader(const std::filesystem::path& path);
  PcapReader(const PcapReader&) = delete;
  PcapReader& operator=(const PcapReader&) = delete;
  ~PcapReader();

  // Reads the next packet. Returns false at the end of the file; throws InputError if the file is
  // truncated or corrupt (libpcap's message and the path are in the text).
  bool Next(PacketView& packet);

  LinkType link_type() const { return link_type_; }
  // Whether the file itself stores nanoseconds (pcap magic 0xa1b23c4d). For microsecond files the
  // nanosecond timestamps delivered by Next() are multiples of 1000; pcapng reports false.
  bool file_has_nanoseconds() const { return file_has_nanoseconds_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  pcap* handle_ = nullptr;
  LinkType link_type_ = LinkType::kEthernet;
  bool file_has_nanoseconds_ = false;
};

// Human-readable name of a DLT_* value, e.g. "EN10MB" (for error messages).
std::string LinkTypeName(int dlt);

}  // namespace nfb::collectors
