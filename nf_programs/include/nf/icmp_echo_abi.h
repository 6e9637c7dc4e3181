/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ABI of icmp_echo.bpf.c, shared with the C++ loader (nfb/bpf/icmp_echo.h), which static_asserts
 * the layout so a change here that is not mirrored there breaks the build.
 */
#ifndef NF_ICMP_ECHO_ABI_H
#define NF_ICMP_ECHO_ABI_H

#include <linux/types.h>

/* Value of the single-entry PERCPU_ARRAY icmp_echo_stats (key 0); user space sums the CPUs. */
struct icmp_echo_counters {
	__u64 answered; /* echo requests rewritten into replies and sent back out */
	__u64 passed; /* every other packet, handed on untouched (TC_ACT_OK / XDP_PASS) */
};

#endif /* NF_ICMP_ECHO_ABI_H */
