# The Xen lab's tests as CTest tests (xen_setup/lab/README.md, "CI").
# Include from the top-level CMakeLists.txt after include(CTest):
#   include(xen_setup/lab/ctest.cmake)
# and configure with -DNFB_XEN_LAB_TESTS=ON; run with `ctest -L xen-lab`. Off by default: they
# need root and QEMU, build the lab's images on first use (~2-5 min, apt's mirror) and boot Xen
# under TCG.
#   xen_lab_smoke     the lab itself (~2-4 min)
#   xen_lab_ping_xen  nfbench's xen platform: the ping scenario's quick profile on real Xen in the
#                     lab, results checked by xen_setup/lab/dom0/nfblab-xen-ping (~6-12 min)
#   (the next two only with -DNFB_XEN_LAB_EXTRA_TESTS=ON, see below)
#   xen_lab_flood_xen  the flood and co-tenant scenarios (profile xen-quick) on real Xen in the lab:
#                     iperf3, nfb-udp-sink, iptables and sysbench in the guests over SSH, results
#                     checked by xen_setup/lab/dom0/nfblab-xen-flood (~6-8 min)
#   xen_lab_ping_xen_ssh  the same with the load generator on "another machine" over SSH (a
#                     namespace with its own dropbear behind dom0's NIC, named by an inventory;
#                     RTTs from a remote tcpdump): xen_setup/lab/dom0/nfblab-xen-ping-ssh
#   xen_lab_vchan_offload  bpfd --xenstore and libxenbpf over vchan: a guest offloads icmp_echo,
#                     pings answered in dom0 with its vif still, malformed frames (~4-6 min)
#   xen_lab_xentop_sampler  the xentop sampler with a busy loop in a guest, and the Xen context
#                     (xen_setup/lab/tests/xentop-sampler, ~2.5-3 min)
option(NFB_XEN_LAB_TESTS "Register the Xen lab tests (QEMU/TCG, root)" OFF)
option(NFB_XEN_LAB_EXTRA_TESTS "Also the lab tests not yet reliable enough for CI" OFF)
if(NFB_XEN_LAB_TESTS)
  add_test(NAME xen_lab_smoke
           COMMAND ${CMAKE_CURRENT_LIST_DIR}/run --build-dir ${CMAKE_BINARY_DIR}
                   -- xen_setup/lab/selftest
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  add_test(NAME xen_lab_ping_xen
           COMMAND ${CMAKE_CURRENT_LIST_DIR}/run --build-dir ${CMAKE_BINARY_DIR} --timeout 1500
                   -- nfblab-xen-ping
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  # RUN_SERIAL: TCG takes both CPUs; nothing else should be measured meanwhile.
  set_tests_properties(xen_lab_smoke PROPERTIES LABELS "xen-lab" TIMEOUT 1800 RUN_SERIAL TRUE)
  set_tests_properties(xen_lab_ping_xen PROPERTIES LABELS "xen-lab" TIMEOUT 2100 RUN_SERIAL TRUE)
  # Not in CI yet (-DNFB_XEN_LAB_EXTRA_TESTS=ON, label xen-lab-extra): each failed once in its
  # first runs for a reason not yet found. flood: 4 of 6 lab runs passed; in one xentop 4.17
  # segfaulted and nfbench aborted on a corrupted heap in the sampler thread (core in the
  # results). ssh: 2 of 3 passed; in one the SSH connection to the stand-in machine dropped.
  if(NFB_XEN_LAB_EXTRA_TESTS)
    add_test(NAME xen_lab_ping_xen_ssh
             COMMAND ${CMAKE_CURRENT_LIST_DIR}/run --build-dir ${CMAKE_BINARY_DIR} --timeout 1500
                     -- nfblab-xen-ping-ssh
             WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
    set_tests_properties(xen_lab_ping_xen_ssh PROPERTIES LABELS "xen-lab-extra" TIMEOUT 2100
                         RUN_SERIAL TRUE)
    add_test(NAME xen_lab_flood_xen
             COMMAND ${CMAKE_CURRENT_LIST_DIR}/run --build-dir ${CMAKE_BINARY_DIR} --timeout 1500
                     -- nfblab-xen-flood
             WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
    set_tests_properties(xen_lab_flood_xen PROPERTIES LABELS "xen-lab-extra" TIMEOUT 2100
                         RUN_SERIAL TRUE)
  endif()
  # bpfd's vchan transport end to end (xen_setup/lab/tests/vchan-offload): needs a build with
  # libxen-dev installed (bpfd, xenbpf-load, xenbpf-probe, icmp_echo.bpf.o).
  add_test(NAME xen_lab_vchan_offload
           COMMAND ${CMAKE_CURRENT_LIST_DIR}/run --build-dir ${CMAKE_BINARY_DIR} --timeout 1200
                   -- xen_setup/lab/tests/vchan-offload
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(xen_lab_vchan_offload PROPERTIES LABELS "xen-lab" TIMEOUT 1800
                       RUN_SERIAL TRUE)
  # The xentop sampler on real xentop: a busy loop in a guest reads ~100% of its vCPU, and the
  # Xen context says "xen under QEMU/TCG" (xen_setup/lab/tests/xentop-sampler; needs the
  # xen_dom0_test target built; 130-170 s measured).
  add_test(NAME xen_lab_xentop_sampler
           COMMAND ${CMAKE_CURRENT_LIST_DIR}/run --build-dir ${CMAKE_BINARY_DIR} --timeout 900
                   -- xen_setup/lab/tests/xentop-sampler
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(xen_lab_xentop_sampler PROPERTIES LABELS "xen-lab" TIMEOUT 1500
                       RUN_SERIAL TRUE)
endif()
