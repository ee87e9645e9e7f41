# The tables of bench/cloud.sh, from its measurements (one JSON object a line: dns, n,
# phase, wall, began, and the proxy's stats), medians over the runs:
#   jq -rs --argjson latency 0.25 --argjson propagation 1 --arg profile debug \
#      --argjson runs 3 -f bench/cloud-table.jq results.jsonl
def median: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
def s: (. * 100 | round / 100 | tostring) + " s";
def x: (. * 100 | round / 100 | tostring) + "×";
def short: sub("^(cloudflare|route53) "; "") | sub("/zones/\\{zone\\}/dns_records"; "records");
def kinds: to_entries | map("\(.value) \(.key | short)") | join(", ");
def chain: map("\(.kind | short) (\(.start)–\(.end))") | join(" → ");
def m(f): map(f) | median;
# Seconds from the phase's start to its first request, and from its last answer to its end.
def before: .stats.t0 - .began;
def after: (.began + .wall) - (.stats.t0 + .stats.span);
# The ideal client of issue 12: the zone, the check for an existing cluster, RunInstances,
# DescribeInstances and one batch of records, one after the other, then the propagation
# once (RFC 2136: none; BIND, the server asked, serves an update at once).
group_by(.dns)[]
| .[0].dns as $dns
| (5 * $latency + (if $dns == "rfc2136" then 0 else $propagation end)) as $ideal
| (map(.n) | min) as $smallest
| (map(select(.phase == "run" and .n == $smallest)) | m(.wall)) as $one
| "#### \($dns): \($latency) s a request, \($propagation) s propagation (\($profile) build, medians of \($runs))\n",
  "| members | to bootstrap | ×\($smallest) member | ×ideal (\($ideal | s)) | requests | longest chain | chain × \($latency) s | at most in flight | before the first request | after the last answer |",
  "|---|---|---|---|---|---|---|---|---|---|",
  (group_by(.n)[] | map(select(.phase == "run")) as $run
   | ($run | m(.wall)) as $wall
   | "| \($run[0].n) | \($wall | s) | \($wall / $one | x) | \($wall / $ideal | x) | \($run | m(.stats.requests)) | \($run | m(.stats.chain)) | \($run | m(.stats.chain) * $latency | s) | \($run | m(.stats.max_in_flight)) | \($run | m(before) | s) | \($run | m(after) | s) |"),
  "",
  "| members | destroy | its requests | its chain | rollback | its requests | its chain |",
  "|---|---|---|---|---|---|---|",
  (group_by(.n)[] as $g
   | ($g | map(select(.phase == "destroy"))) as $destroy
   | ($g | map(select(.phase == "rollback"))) as $rollback
   | "| \($g[0].n) | \($destroy | m(.wall) | s) | \($destroy | m(.stats.requests)) | \($destroy | m(.stats.chain)) | \($rollback | m(.wall) | s) | \($rollback | m(.stats.requests)) | \($rollback | m(.stats.chain)) |"),
  "",
  "Requests by kind (the last run of each size):\n",
  "| members | run | destroy | rollback |",
  "|---|---|---|---|",
  (group_by(.n)[] as $g
   | ($g | map(select(.phase == "run")) | last.stats.by_kind | kinds) as $run
   | ($g | map(select(.phase == "destroy")) | last.stats.by_kind | kinds) as $destroy
   | ($g | map(select(.phase == "rollback")) | last.stats.by_kind | kinds) as $rollback
   | "| \($g[0].n) | \($run) | \($destroy) | \($rollback) |"),
  "",
  (map(select(.phase == "run")) | max_by(.n)
   | "The longest chain at \(.n) members (seconds from the first request; that run took \(.wall | s), its first request \(before | s) after its start): \(.stats.chain_kinds | chain)\n"),
  (map(select(.phase == "destroy")) | max_by(.n)
   | "Its destroy: \(.stats.chain_kinds | chain)\n"),
  (map(select(.phase == "rollback")) | max_by(.n)
   | "Its rollback: \(.stats.chain_kinds | chain)\n")
