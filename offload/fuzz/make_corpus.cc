// Writes the request fuzzer's seed corpus (valid requests of every command and short sessions)
// into a directory, one file per seed, so it always matches the protocol it is built with.
//
//   xenbpf_fuzz_corpus DIR          write the seeds
//   xenbpf_fuzz_corpus --max-len    print the largest useful input length (for -max_len)
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "nfb/offload/request_fuzz.h"

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "--max-len") == 0) {
    std::cout << nfb::offload::fuzz::MaxInputLength() << "\n";
    return 0;
  }
  if (argc != 2) {
    std::cerr << "usage: xenbpf_fuzz_corpus DIR | --max-len\n";
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  for (const auto& [name, bytes] : nfb::offload::fuzz::SeedCorpus()) {
    std::ofstream out(dir / ("seed-" + name), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    if (!out) {
      std::cerr << "xenbpf_fuzz_corpus: cannot write " << (dir / name) << "\n";
      return 3;
    }
  }
  return 0;
}
