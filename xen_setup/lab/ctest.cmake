# The Xen lab's smoke test as a CTest test (xen_setup/lab/README.md, "CI").
# Include from the top-level CMakeLists.txt after include(CTest):
#   include(xen_setup/lab/ctest.cmake)
# and configure with -DNFB_XEN_LAB_TESTS=ON; run with `ctest -L xen-lab`. Off by default: it
# needs root and QEMU, builds the lab's images on first use (~2-5 min, apt's mirror) and boots
# Xen under TCG (~2-4 min).
option(NFB_XEN_LAB_TESTS "Register the Xen lab smoke test (QEMU/TCG, root)" OFF)
if(NFB_XEN_LAB_TESTS)
  add_test(NAME xen_lab_smoke
           COMMAND ${CMAKE_CURRENT_LIST_DIR}/run --build-dir ${CMAKE_BINARY_DIR}
                   -- xen_setup/lab/selftest
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  # RUN_SERIAL: TCG takes both CPUs; nothing else should be measured meanwhile.
  set_tests_properties(xen_lab_smoke PROPERTIES LABELS "xen-lab" TIMEOUT 1800 RUN_SERIAL TRUE)
endif()
