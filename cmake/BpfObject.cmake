# bpf_object(<name> <source.bpf.c>)
#
# Compiles one BPF C program with clang (-target bpf, -Werror) and generates its libbpf skeleton
# with bpftool. Defines:
#   <name>_skel        INTERFACE target: include "<name>.skel.h", links libbpf
#   <name>_BPF_OBJECT  (parent scope) path of the compiled .bpf.o, for loaders that want the ELF
# Network programs only need UAPI headers, so no vmlinux.h is generated (see docs/STYLE.md).
find_program(BPF_CLANG NAMES clang clang-14 REQUIRED)
find_program(BPFTOOL bpftool PATHS /usr/sbin /usr/local/sbin /sbin REQUIRED)

# clang -target bpf does not search the multiarch include dir where <asm/types.h> lives on Debian.
execute_process(COMMAND ${CMAKE_C_COMPILER} -print-multiarch
                OUTPUT_VARIABLE BPF_MULTIARCH OUTPUT_STRIP_TRAILING_WHITESPACE)
set(BPF_INCLUDE_FLAGS -I${CMAKE_SOURCE_DIR}/nf_programs/include)
if(BPF_MULTIARCH)
  list(APPEND BPF_INCLUDE_FLAGS -idirafter /usr/include/${BPF_MULTIARCH})
endif()

function(bpf_object name source)
  get_filename_component(src ${source} ABSOLUTE)
  set(obj ${CMAKE_CURRENT_BINARY_DIR}/${name}.bpf.o)
  set(skel ${CMAKE_CURRENT_BINARY_DIR}/${name}.skel.h)
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${BPF_CLANG} -g -O2 -target bpf -Wall -Wextra -Werror -Wno-unused-parameter
            ${BPF_INCLUDE_FLAGS} -MD -MF ${obj}.d -c ${src} -o ${obj}
    DEPENDS ${src}
    DEPFILE ${obj}.d
    COMMENT "BPF ${name}"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${BPFTOOL} gen skeleton ${obj} name ${name} > ${skel}
    DEPENDS ${obj}
    COMMENT "skeleton ${name}"
    VERBATIM)
  add_custom_target(${name}_skel_gen DEPENDS ${skel})
  add_library(${name}_skel INTERFACE)
  add_dependencies(${name}_skel ${name}_skel_gen)
  target_include_directories(${name}_skel INTERFACE ${CMAKE_CURRENT_BINARY_DIR}
                             ${CMAKE_SOURCE_DIR}/nf_programs/include)
  target_link_libraries(${name}_skel INTERFACE PkgConfig::LIBBPF)
  set(${name}_BPF_OBJECT ${obj} PARENT_SCOPE)
endfunction()
