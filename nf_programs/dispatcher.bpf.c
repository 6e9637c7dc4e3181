// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * XenBPF dispatcher, attached once at the tc ingress of dom0's NIC: the destination MAC selects a
 * slot (one per guest), the packet is counted for that slot (the per-domain CPU accounting
 * multiplies these counts by a measured per-packet cost) and the slot's program is tail-called.
 * Frames for unknown MACs, and for known MACs whose slot holds no program, pass untouched to the
 * bridge, as if the dispatcher were not there.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "nf/dispatcher_abi.h"
#include "nf/parsing.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DISPATCHER_MAX_SLOTS);
	__type(key, struct dispatcher_mac_key);
	__type(value, dispatcher_slot_t);
} mac_to_slot SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DISPATCHER_MAX_SLOTS);
	__type(key, __u32);
	__type(value, struct dispatcher_slot_counters);
} slot_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, DISPATCHER_MAX_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} slot_progs SEC(".maps");

SEC("tc")
int dispatcher_tc(struct __sk_buff *skb)
{
	void *data_end = (void *)(long)skb->data_end;
	void *data = (void *)(long)skb->data;
	struct hdr_cursor nh = { .pos = data };
	struct dispatcher_slot_counters *counters;
	struct dispatcher_mac_key key = {};
	dispatcher_slot_t *slot;
	struct ethhdr *eth;

	/* At tc ingress the Ethernet header is always linear (eth_type_trans pulled it), so no
	 * bpf_skb_pull_data() here; the slot's program pulls what it needs itself.
	 */
	if (parse_ethhdr(&nh, data_end, &eth) < 0)
		return TC_ACT_OK;
	__builtin_memcpy(key.addr, eth->h_dest, ETH_ALEN);
	slot = bpf_map_lookup_elem(&mac_to_slot, &key);
	if (!slot)
		return TC_ACT_OK;
	counters = bpf_map_lookup_elem(&slot_stats, slot);
	if (counters) {
		counters->packets++;
		counters->bytes += skb->len;
	}
	bpf_tail_call(skb, &slot_progs, *slot);
	/* Only reached when the slot is empty (or the tail-call limit was hit). */
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
