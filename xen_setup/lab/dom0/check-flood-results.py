#!/usr/bin/env python3
"""Checks of nfblab-xen-flood: the flood and co-tenant runs' results on the xen platform.

usage: check-flood-results.py FLOOD_RUN_DIR COTENANT_RUN_DIR LEFTOVERS [TIMES]
Prints PASS/FAIL lines and a summary of the measured figures; exit 0 when every check passed.
Also usable on the host against a copy of the results (LEFTOVERS then "").
"""
import csv
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

failures = []


def check(ok, what):
    print(("PASS  " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)
    return ok


def read_csv(path):
    if not path.exists():
        return []
    with open(path) as f:
        return list(csv.DictReader(f))


def load(run, scenario):
    print(f"--- {scenario}: {run}")
    ok = check(run.is_dir(), f"{scenario}: a results directory")
    ctx = json.loads((run / "context.json").read_text()) if (run / "context.json").exists() else {}
    plat = ctx.get("platform", {})
    check(plat.get("name") == "xen" and plat.get("platform") == "xen",
          f"{scenario}: context.json records platform xen")
    check(ctx.get("status") == "completed",
          f"{scenario}: status completed (got {ctx.get('status')}: {ctx.get('error', '')})")
    return ok, ctx


def profile_values(run):
    """The resolved scenario's few values the checks need (no YAML parser in dom0's python)."""
    text = (run / "scenario.resolved.yaml").read_text() if (run / "scenario.resolved.yaml").exists() else ""
    return text


def common(run, ctx, scenario, guests, step_seconds):
    steps = ctx.get("steps", [])
    keys = [(s.get("configuration"), str(s.get("repetition"))) for s in steps]
    check(len(steps) > 0, f"{scenario}: {len(steps)} steps ran")
    # accounting.csv: one row per step.
    acc = {(r["configuration"], r["repetition"]): r for r in read_csv(run / "accounting.csv")}
    for k in keys:
        check(k in acc, f"{scenario}: {k[0]} rep {k[1]}: accounting row (attack_sent "
                        f"{acc.get(k, {}).get('attack_sent')}, guest_udp_no_port {acc.get(k, {}).get('guest_udp_no_port')})")
    # series.csv: dom0's NIC rate per second in every step.
    nic = defaultdict(list)
    for r in read_csv(run / "series.csv"):
        if r["series"] == "dom0_nic_rx":
            nic[(r["configuration"], r["repetition"])].append(float(r["t_s"]))
    for k in keys:
        t = sorted(nic.get(k, []))
        check(len(t) >= max(2, int(0.6 * step_seconds)),
              f"{scenario}: {k[0]} rep {k[1]}: {len(t)} per-second dom0 NIC rates (step ~{step_seconds:.0f} s)")
    # cpu.csv: xentop rows for dom0 and every guest in every step at ~1 Hz.
    sampling = ctx.get("flood", {}).get("cpu_sampling", {})
    check(sampling.get("method") == "xentop", f"{scenario}: CPU sampled by {sampling.get('method')}")
    cpu = defaultdict(list)
    for r in read_csv(run / "cpu.csv"):
        if r.get("kind") == "domain":
            cpu[(r["configuration"], r["repetition"], r["domain"])].append(
                (float(r["t_s"]), float(r["interval_s"]), float(r.get("cpu_percent") or "nan")))
    need = max(2, int(0.6 * step_seconds))
    # xentop 4.17 segfaults now and then; the step's sampler then starts a new one (its
    # "segments" in the step's cpu_sampler), which costs a few seconds of rows under TCG.
    restarts = {(s.get("configuration"), str(s.get("repetition"))):
                len((s.get("cpu_sampler") or {}).get("segments") or [None]) - 1 for s in steps}
    for k in keys:
        max_gap = 3.5 if restarts.get(k, 0) == 0 else 8.0
        for d in ["dom0"] + guests:
            rows = sorted(cpu.get((k[0], k[1], d), []))
            t = [x[0] for x in rows]
            gaps = [b - a for a, b in zip(t, t[1:])]
            iv = sorted(x[1] for x in rows)
            ok = (len(rows) >= need and (max(gaps) if gaps else 99) <= max_gap
                  and 0.8 <= (iv[len(iv) // 2] if iv else 0) <= 1.5)
            check(ok, f"{scenario}: {k[0]} rep {k[1]}: {d}: {len(rows)} xentop rows (need {need}), "
                      f"largest gap {max(gaps) if gaps else float('nan'):.1f} s (at most {max_gap} s; "
                      f"xentop restarted {restarts.get(k, 0)} time(s)), "
                      f"median interval {iv[len(iv) // 2] if iv else float('nan'):.2f} s")
    return steps, acc, cpu


def mean_busy(cpu, conf, rep, domain, since=None):
    v = [x[2] for x in cpu.get((conf, rep, domain), []) if since is None or x[0] >= since]
    v = [x for x in v if x == x]
    # The median: xentop 4.17 sometimes prints a garbage CPU(%) for a frame (seen: 1.7e12).
    return statistics.median(v) if v else float("nan")


def filters(steps, acc, scenario, xenbpf, guest_bpf, iptables, unfiltered):
    by = {(s["configuration"], str(s["repetition"])): s for s in steps}
    for (conf, rep), s in by.items():
        a = acc.get((conf, rep), {})
        sent = int(a.get("attack_sent", 0) or 0)
        attack = s.get("attack", {})
        counters = s.get("program_counters", {}) or {}
        no_port = int(a.get("guest_udp_no_port", 0) or 0)
        delivered = int(a.get("guest_udp_delivered", 0) or 0)
        received = int(a.get("receiver_received", 0) or 0)
        if not attack.get("enabled", True):
            check(sent == 0, f"{scenario}: {conf} rep {rep}: no attack sent ({sent})")
            continue
        check(sent > 1000, f"{scenario}: {conf} rep {rep}: the attack sent {sent} packets "
                           f"({(attack.get('generator') or {}).get('tool')})")
        if conf == xenbpf:
            path = s.get("install", {}).get("path")
            dropped = int(counters.get("dropped", 0) or 0)
            check(dropped > sent * 0.5 and dropped <= sent,
                  f"{scenario}: {conf} rep {rep}: udp_drop in dom0 ({path}) dropped {dropped} of {sent}; "
                  f"bpfd's slot saw {counters.get('dispatcher_slot_packets')}")
            check(no_port == 0 and received == 0,
                  f"{scenario}: {conf} rep {rep}: the guest's UDP layer saw none of it "
                  f"(NoPorts {no_port}, delivered {delivered}, guest eth0 rx {a.get('guest_eth0_rx')})")
        elif conf in (guest_bpf, iptables):
            dropped = int(counters.get("dropped", 0) or 0)
            check(dropped > sent * 0.3, f"{scenario}: {conf} rep {rep}: dropped in the guest by its "
                                        f"{counters.get('kind', 'program')}: {dropped} of {sent} "
                                        f"(dom0 vif tx {a.get('dom0_vif_tx')}, dropped {a.get('dom0_vif_tx_dropped')})")
            check(no_port == 0, f"{scenario}: {conf} rep {rep}: no attack packet reached the UDP layer "
                                f"(NoPorts {no_port})")
        elif conf in unfiltered:
            check(no_port + received + int(a.get("receiver_socket_drops", 0) or 0) > 0.3 * sent
                  or int(a.get("guest_eth0_rx_dropped", 0) or 0) + int(a.get("dom0_vif_tx_dropped", 0) or 0) > 0,
                  f"{scenario}: {conf} rep {rep}: unfiltered, the attack reached the guest "
                  f"(NoPorts {no_port}, application {received}, socket drops {a.get('receiver_socket_drops')}, "
                  f"vif tx {a.get('dom0_vif_tx')} dropped {a.get('dom0_vif_tx_dropped')})")


def flood(run):
    ok, ctx = load(run, "udp-flood")
    if not ok:
        return
    text = profile_values(run)
    duration = 16.0
    for line in text.splitlines():
        if line.strip().startswith("duration_s:"):
            duration = float(line.split(":")[1].split("#")[0])
            break
    steps, acc, cpu = common(run, ctx, "udp-flood", ["domu1"], duration)
    # The valid flow: a throughput per second across the flow, from the guest's iperf3 server.
    thr = defaultdict(list)
    for r in read_csv(run / "series.csv"):
        if r["series"] == "throughput":
            thr[(r["configuration"], r["repetition"])].append((float(r["t_s"]), float(r["value"])))
    under = defaultdict(list)
    for r in read_csv(run / "samples.csv"):
        if r["metric"] == "throughput_attack":
            under[r["configuration"]].append(float(r["value"]))
    for s in steps:
        k = (s["configuration"], str(s["repetition"]))
        pts = sorted(thr.get(k, []))
        t = [p[0] for p in pts]
        gaps = [b - a for a, b in zip(t, t[1:])]
        check(len(pts) >= duration - 2 and (max(gaps) if gaps else 99) <= 1.5,
              f"udp-flood: {k[0]}: {len(pts)} per-second throughputs of the valid flow "
              f"(flow {duration:.0f} s, largest gap {max(gaps) if gaps else float('nan'):.1f} s; "
              f"server exit {s.get('flow', {}).get('server_exit')})")
    filters(steps, acc, "udp-flood", "XenBPF", "BPF in guest", "iptables",
            ("Unfiltered, no receiver", "Unfiltered"))
    print("udp-flood figures: configuration | throughput under attack Mbit/s (mean) | before | "
          "attack sent | median CPU % (xentop) dom0 / domu1 under attack")
    for s in steps:
        k = (s["configuration"], str(s["repetition"]))
        started = (s.get("attack") or {}).get("started_s") or 0
        before = [v for t, v in thr.get(k, []) if t <= started]
        print(f"  {k[0]:<24} | {statistics.mean(under[k[0]]) if under[k[0]] else float('nan'):8.1f} | "
              f"{statistics.mean(before) if before else float('nan'):8.1f} | "
              f"{acc.get(k, {}).get('attack_sent')} | "
              f"{mean_busy(cpu, k[0], k[1], 'dom0', started):.1f} / {mean_busy(cpu, k[0], k[1], 'domu1', started):.1f}")


def cotenant(run):
    ok, ctx = load(run, "cotenant")
    if not ok:
        return
    text = profile_values(run)
    start, dur = 1.0, 5.0
    in_co = False
    for line in text.splitlines():
        st = line.strip()
        if st.startswith("cotenant:"):
            in_co = True
        elif in_co and st.startswith("duration_s:"):
            dur = float(st.split(":")[1].split("#")[0])
        elif in_co and st.startswith("start_s:"):
            start = float(st.split(":")[1].split("#")[0])
    steps, acc, cpu = common(run, ctx, "cotenant", ["domu1", "domu2"], start + dur)
    scores = defaultdict(list)
    for r in read_csv(run / "samples.csv"):
        if r["metric"] == "score":
            scores[r["configuration"]].append(float(r["value"]))
    confs = []
    for s in steps:
        if s["configuration"] not in confs:
            confs.append(s["configuration"])
    reps = defaultdict(int)
    for s in steps:
        reps[s["configuration"]] += 1
    for c in confs:
        check(len(scores[c]) == reps[c] and all(v > 0 for v in scores[c]),
              f"cotenant: {c}: co-tenant scores {scores[c]}")
    filters(steps, acc, "cotenant", "XenBPF", "Guest BPF", "iptables", ("Traffic", "Traffic recv"))
    print("cotenant figures: configuration | mean score events/s | median CPU % (xentop) dom0 / domu1 / domu2")
    for c in confs:
        rs = [str(s["repetition"]) for s in steps if s["configuration"] == c]
        m = lambda d: statistics.mean([mean_busy(cpu, c, r, d) for r in rs])
        print(f"  {c:<14} | {statistics.mean(scores[c]) if scores[c] else float('nan'):9.1f} | "
              f"{m('dom0'):.1f} / {m('domu1'):.1f} / {m('domu2'):.1f}")


def main():
    flood(Path(sys.argv[1]))
    cotenant(Path(sys.argv[2]))
    leftovers = sys.argv[3].strip() if len(sys.argv) > 3 else ""
    check(not leftovers, "nothing left behind" + (": " + leftovers.replace("\n", ", ") if leftovers else ""))
    if len(sys.argv) > 4 and sys.argv[4]:
        print(f"nfbench durations (s): {sys.argv[4]}")
    print(f"nfblab-xen-flood: {len(failures)} check(s) failed" if failures
          else "nfblab-xen-flood: all checks passed")
    sys.exit(1 if failures else 0)


main()
