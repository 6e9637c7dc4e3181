#include "nfb/collectors/pcap_file.h"

#include <pcap/pcap.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "nfb/core/error.h"

namespace nfb::collectors {
namespace {

constexpr uint32_t kMagicNano = 0xa1b23c4d;
constexpr uint32_t kMagicNanoSwapped = 0x4d3cb2a1;

}  // namespace

std::string LinkTypeName(int dlt) {
  const char* name = pcap_datalink_val_to_name(dlt);
  return name != nullptr ? std::string(name) : "DLT " + std::to_string(dlt);
}

PcapReader::PcapReader(const std::filesystem::path& path) : path_(path) {
  FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    throw InputError("cannot open capture file " + path.string() + ": " + std::strerror(errno));
  }
  // Peek at the magic number: libpcap converts every file to the precision asked for and no
  // longer says which precision the file had, but the resolution estimate needs to know.
  uint32_t magic = 0;
  if (std::fread(&magic, sizeof(magic), 1, file) == 1) {
    file_has_nanoseconds_ = magic == kMagicNano || magic == kMagicNanoSwapped;
  }
  std::rewind(file);

  char errbuf[PCAP_ERRBUF_SIZE] = {};
  handle_ = pcap_fopen_offline_with_tstamp_precision(file, PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (handle_ == nullptr) {
    std::fclose(file);
    throw InputError("cannot read capture file " + path.string() + ": " + errbuf);
  }
  int dlt = pcap_datalink(handle_);
  switch (dlt) {
    case DLT_EN10MB:
    case DLT_LINUX_SLL:
    case DLT_LINUX_SLL2:
      link_type_ = static_cast<LinkType>(dlt);
      break;
    default:
      pcap_close(handle_);
      handle_ = nullptr;
      throw InputError("capture file " + path.string() + " has link type " + LinkTypeName(dlt) +
                       "; only EN10MB (Ethernet), LINUX_SLL and LINUX_SLL2 are supported");
  }
}

PcapReader::~PcapReader() {
  if (handle_ != nullptr) pcap_close(handle_);  // also closes the FILE
}

bool PcapReader::Next(PacketView& packet) {
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  int rc = pcap_next_ex(handle_, &header, &data);
  if (rc == 1) {
    packet.ts_ns = static_cast<int64_t>(header->ts.tv_sec) * 1'000'000'000 +
                   static_cast<int64_t>(header->ts.tv_usec);
    packet.data = data;
    packet.caplen = header->caplen;
    packet.wire_len = header->len;
    return true;
  }
  if (rc == PCAP_ERROR_BREAK) return false;  // end of file
  throw InputError("corrupt or truncated capture file " + path_.string() + ": " +
                   pcap_geterr(handle_));
}

}  // namespace nfb::collectors
