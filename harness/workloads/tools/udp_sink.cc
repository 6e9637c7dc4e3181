// nfb-udp-sink: the "receiving application" of the flood experiments (the thesis's Unfiltered
// configuration). Binds a UDP port, reads every datagram as fast as it can (recvmmsg, 64 per
// call) and, when told to stop (SIGTERM or SIGINT), prints one JSON line:
//   {"port":9999,"received_packets":N,"received_bytes":B,"socket_drops":D,"duration_s":T}
// socket_drops is the kernel's count of datagrams dropped because this socket's receive buffer
// was full (SO_RXQ_OVFL), so "received by the application" and "dropped at the socket" add up.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

int Usage() {
  std::fprintf(stderr, "usage: nfb-udp-sink --port N [--bind ADDRESS] [--rcvbuf BYTES]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  std::string bind_address = "0.0.0.0";
  int rcvbuf = 0;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (i + 1 >= argc) return Usage();
    if (arg == "--port") {
      port = std::atoi(argv[++i]);
    } else if (arg == "--bind") {
      bind_address = argv[++i];
    } else if (arg == "--rcvbuf") {
      rcvbuf = std::atoi(argv[++i]);
    } else {
      return Usage();
    }
  }
  if (port <= 0 || port > 65535) return Usage();

  struct sigaction sa {};
  sa.sa_handler = OnSignal;  // no SA_RESTART: recvmmsg returns EINTR and the loop ends
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);

  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) {
    std::perror("nfb-udp-sink: socket");
    return 1;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);
  if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  // A timeout so a stop request is seen even when no datagram arrives.
  timeval tv{0, 200'000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, bind_address.c_str(), &addr.sin_addr) != 1) return Usage();
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::perror("nfb-udp-sink: bind");
    return 1;
  }
  // The harness waits for this line before it starts the attack.
  std::printf("{\"ready\":true,\"port\":%d}\n", port);
  std::fflush(stdout);

  constexpr int kBatch = 64;
  static char buffers[kBatch][2048];
  static char controls[kBatch][CMSG_SPACE(sizeof(uint32_t))];
  iovec iov[kBatch];
  mmsghdr msgs[kBatch];
  uint64_t packets = 0, bytes = 0;
  uint32_t drops = 0;
  const auto start = std::chrono::steady_clock::now();
  while (!g_stop) {
    for (int i = 0; i < kBatch; ++i) {
      iov[i] = {buffers[i], sizeof buffers[i]};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_control = controls[i];
      msgs[i].msg_hdr.msg_controllen = sizeof controls[i];
    }
    int n = recvmmsg(fd, msgs, kBatch, MSG_WAITFORONE, nullptr);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      std::perror("nfb-udp-sink: recvmmsg");
      return 1;
    }
    for (int i = 0; i < n; ++i) {
      ++packets;
      bytes += msgs[i].msg_len;
      for (cmsghdr* c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c != nullptr;
           c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
          std::memcpy(&drops, CMSG_DATA(c), sizeof drops);  // cumulative count
        }
      }
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("{\"port\":%d,\"received_packets\":%llu,\"received_bytes\":%llu,"
              "\"socket_drops\":%u,\"duration_s\":%.3f}\n",
              port, static_cast<unsigned long long>(packets),
              static_cast<unsigned long long>(bytes), drops, seconds);
  close(fd);
  return 0;
}
