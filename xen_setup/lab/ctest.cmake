# The Xen lab's tests as CTest tests (xen_setup/lab/README.md, "CI").
# Include from the top-level CMakeLists.txt after include(CTest):
#   include(xen_setup/lab/ctest.cmake)
# and configure with -DNFB_XEN_LAB_TESTS=ON; run with `ctest -L xen-lab`. Off by default: they
# need root and QEMU, build the lab's images on first use (~2-5 min, apt's mirror) and boot Xen
# under TCG.
#   xen_lab_smoke     the lab itself (~2-4 min)
#   xen_lab_ping_xen  nfbench's xen platform: the ping scenario's quick profile on real Xen in the
#                     lab, results checked by xen_setup/lab/dom0/nfblab-xen-ping (~6-12 min)
#   xen_lab_vchan_offload  bpfd --xenstore and libxenbpf over vchan: a guest offloads icmp_echo,
#                     pings answered in dom0 with its vif still, malformed frames (~4-6 min)
#   xen_lab_xentop_sampler  the xentop sampler with a busy loop in a guest, and the Xen context
#                     (xen_setup/lab/tests/xentop-sampler, ~2.5-3 min)
option(NFB_XEN_LAB_TESTS "Register the Xen lab tests (QEMU/TCG, root)" OFF)
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
