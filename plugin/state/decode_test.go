package state

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

func mustDecode(t *testing.T, js string) *State {
	t.Helper()
	st, err := Decode(strings.NewReader(js))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return st
}

// TestDecodeKeepsStatusesNeeded: a task keeps, at their size, the statuses the
// records read: the latest, and the latest running one when that is another.
func TestDecodeKeepsStatusesNeeded(t *testing.T) {
	cases := []struct {
		statuses string
		want     []float64 // the timestamps kept, in order
	}{
		{`[]`, nil},
		{`[{"state": "TASK_RUNNING", "timestamp": 1}]`, []float64{1}},
		// Starting, then running: the running one is both.
		{`[{"state": "TASK_STARTING", "timestamp": 1}, {"state": "TASK_RUNNING", "timestamp": 2}]`, []float64{2}},
		// Health checks' updates, then killing: the last running one and the latest.
		{`[{"state": "TASK_STARTING", "timestamp": 1}, {"state": "TASK_RUNNING", "timestamp": 2},
			{"state": "TASK_RUNNING", "timestamp": 3}, {"state": "TASK_KILLING", "timestamp": 4}]`, []float64{3, 4}},
		// "statuses" twice: the task's statuses are those of both.
		{`[{"state": "TASK_STARTING", "timestamp": 1}, {"state": "TASK_RUNNING", "timestamp": 2}],
			"statuses": [{"state": "TASK_KILLING", "timestamp": 3}], "statuses": []`, []float64{2, 3}},
		// Out of order: the kept ones stay in the order they came.
		{`[{"state": "TASK_KILLING", "timestamp": 9}, {"state": "TASK_RUNNING", "timestamp": 5},
			{"state": "TASK_STARTING", "timestamp": 1}]`, []float64{9, 5}},
	}
	for _, c := range cases {
		st := mustDecode(t, `{"slaves": [{"id": "S0", "pid": "slave(1)@10.0.1.1:5051"}],
			"frameworks": [{"id": "f", "name": "marathon", "tasks": [{"id": "t", "name": "web", "slave_id": "S0",
				"state": "TASK_RUNNING", "statuses": `+c.statuses+`}]}]}`)
		tk := st.Frameworks[0].Tasks[0]
		var got []float64
		for _, s := range tk.Statuses {
			got = append(got, s.Timestamp)
		}
		if !slices.Equal(got, c.want) || cap(tk.Statuses) != len(tk.Statuses) {
			t.Errorf("%s: kept %v (room for %d), want %v", c.statuses, got, cap(tk.Statuses), c.want)
		}
	}
}

func TestDecodeFull(t *testing.T) {
	st := mustDecode(t, `{
		"version": "1.9.0", "flags": {"x": "y"}, "completed_frameworks": [{"id": "old", "tasks": [{"id": "z"}]}],
		"leader": "master@10.0.0.2:5050",
		"slaves": [{"id": "a-S0", "hostname": "h0", "pid": "slave(1)@10.0.1.1:5051", "attributes": {"rack": "r1"}, "resources": {"ports": "[1-2]"}}],
		"frameworks": [{"id": "f", "name": "marathon", "pid": "scheduler@10.0.0.9:1", "hostname": "m", "active": true,
			"completed_tasks": [{"id": "gone"}], "unreachable_tasks": [],
			"tasks": [{"id": "t1", "name": "web", "slave_id": "a-S0", "state": "TASK_RUNNING",
				"resources": {"cpus": 1, "ports": "[31000-31001, 31005-31005]"},
				"labels": [{"key": "k", "value": "v"}],
				"discovery": {"visibility": "EXTERNAL", "name": "web", "ports": {"ports": [{"number": 80, "name": "http", "protocol": "tcp", "labels": {"labels": [{"key": "VIP_0", "value": "1.2.3.4:80"}]}}]}},
				"statuses": [{"state": "TASK_STARTING", "timestamp": 1.5},
					{"state": "TASK_RUNNING", "timestamp": 2.5, "healthy": true,
					 "labels": [{"key": "Docker.NetworkSettings.IPAddress", "value": "172.17.0.2"}],
					 "container_status": {"network_infos": [{"ip_addresses": [{"protocol": "IPv4", "ip_address": "10.1.1.1"}, {"ip_address": "fd00::1"}]}]}}]}]}]}`)
	if st.Leader != (PID{ID: "master", Host: "10.0.0.2", Port: 5050}) || !st.Self.IsZero() {
		t.Errorf("leader %+v", st.Leader)
	}
	if len(st.Agents) != 1 || st.Agents[0] != (Agent{ID: "a-S0", Hostname: "h0", PID: PID{"slave(1)", "10.0.1.1", 5051}}) {
		t.Errorf("agents %+v", st.Agents)
	}
	if len(st.Frameworks) != 1 {
		t.Fatalf("frameworks %+v", st.Frameworks)
	}
	f := st.Frameworks[0]
	if f.ID != "f" || f.Name != "marathon" || f.Hostname != "m" || f.PID.Port != 1 || len(f.Tasks) != 1 {
		t.Errorf("framework %+v", f)
	}
	tk := f.Tasks[0]
	if tk.ID != "t1" || tk.Name != "web" || tk.AgentID != "a-S0" || tk.State != TaskRunning {
		t.Errorf("task %+v", tk)
	}
	if len(tk.Ports) != 2 || tk.Ports[0] != (PortRange{31000, 31001}) || tk.Ports[1] != (PortRange{31005, 31005}) {
		t.Errorf("ports %+v", tk.Ports)
	}
	if d := tk.Discovery; d == nil || d.Name != "web" || d.Visibility != "EXTERNAL" || len(d.Ports) != 1 || d.Ports[0] != (DiscoveryPort{Number: 80, Name: "http", Protocol: "tcp"}) {
		t.Errorf("discovery %+v", tk.Discovery)
	}
	s, ok := tk.LatestRunning()
	if !ok || s.Timestamp != 2.5 || s.Healthy != Healthy || len(s.IPs) != 2 || s.IPs[1].String() != "fd00::1" {
		t.Errorf("status %+v", s)
	}
	if v, _ := s.Label("Docker.NetworkSettings.IPAddress"); v != "172.17.0.2" {
		t.Errorf("status label %q", v)
	}
	if st.Skipped.Total() != 0 {
		t.Errorf("skipped %v", st.Skipped)
	}
}

func TestDecodeSkipsMalformedEntities(t *testing.T) {
	st := mustDecode(t, `{"leader": "master@10.0.0.2:5050",
		"slaves": [
			{"id": "good", "pid": "slave(1)@10.0.1.1:5051"},
			{"id": "badpid", "pid": "slave(1)10.0.1.2:5051"},
			{"id": "badport", "pid": "slave(1)@10.0.1.2:99999"},
			{"pid": "slave(1)@10.0.1.3:5051"},
			{"id": 17, "pid": "slave(1)@10.0.1.4:5051"},
			"not an object",
			{"id": "named", "pid": "slave(1)@agent.example:5051"}],
		"frameworks": [
			{"id": "f", "name": "marathon", "pid": "nonsense", "tasks": [
				{"id": "ok", "name": "a", "slave_id": "good", "state": "TASK_RUNNING"},
				{"id": "ports", "name": "a", "slave_id": "good", "state": "TASK_RUNNING", "resources": {"ports": "[31000-oops]"}},
				{"id": "ports2", "name": "a", "slave_id": "good", "state": "TASK_RUNNING", "resources": {"ports": "[31005-31000]"}},
				{"id": "state", "name": "a", "slave_id": "good", "state": "TASK_EXPLODED"},
				{"name": "noid", "slave_id": "good", "state": "TASK_RUNNING"},
				{"id": "disc", "name": "a", "slave_id": "good", "state": "TASK_RUNNING", "discovery": {"ports": {"ports": [{"number": 70000}]}}},
				{"id": "type", "name": ["a"], "slave_id": "good", "state": "TASK_RUNNING", "statuses": [{"state": "TASK_RUNNING"}]},
				{"id": "after", "name": "b", "slave_id": "good", "state": "TASK_RUNNING"}]},
			{"name": "noid", "tasks": [{"id": "lost", "state": "TASK_RUNNING"}]},
			{"id": "g", "name": "chronos", "tasks": {"not": "an array"}},
			{"id": "h", "name": "last"}]}`)
	// Agents with a bad pid stay, without an address: their tasks may carry their own.
	if len(st.Agents) != 4 || st.Agents[0].ID != "good" || st.Agents[1].ID != "badpid" || !st.Agents[1].PID.IsZero() ||
		!st.Agents[2].PID.IsZero() || st.Agents[3].PID.Host != "agent.example" {
		t.Errorf("agents %+v", st.Agents)
	}
	if len(st.Frameworks) != 2 || st.Frameworks[0].ID != "f" || st.Frameworks[1].ID != "h" {
		t.Fatalf("frameworks %+v", st.Frameworks)
	}
	f := st.Frameworks[0]
	if !f.PID.IsZero() {
		t.Errorf("bad framework pid kept: %+v", f.PID)
	}
	ids := make([]string, 0, len(f.Tasks))
	for _, tk := range f.Tasks {
		ids = append(ids, tk.ID)
	}
	// A discovery port out of range costs the port, not the task.
	if strings.Join(ids, ",") != "ok,disc,after" {
		t.Errorf("tasks kept: %v", ids)
	}
	wantSkips := Skips{
		SkipAgentBadPID: 2, SkipAgentMissingID: 1, SkipAgentMalformed: 2,
		SkipFrameworkBadPID: 1, SkipFrameworkMissingID: 1, SkipFrameworkMalformed: 1,
		SkipTaskBadPorts: 2, SkipTaskUnknownState: 1, SkipTaskMissingID: 1, SkipTaskBadDiscovery: 1, SkipTaskMalformed: 1,
	}
	for r, n := range wantSkips {
		if st.Skipped[r] != n {
			t.Errorf("skipped[%s] = %d, want %d", r, st.Skipped[r], n)
		}
	}
	if st.Skipped.Total() != wantSkips.Total() {
		t.Errorf("skipped %v", st.Skipped)
	}
}

func TestDecodeNullsAndOldShapes(t *testing.T) {
	st := mustDecode(t, `{"leader": null, "leader_info": {"hostname": "10.0.0.7", "port": 5050},
		"slaves": null,
		"frameworks": [{"id": "f", "name": null, "pid": null, "tasks": [
			{"id": "t", "name": "n", "slave_id": "s", "state": "TASK_RUNNING", "labels": null, "discovery": {"name": "n", "ports": {}},
			 "resources": {}, "statuses": [{"state": "TASK_RUNNING", "timestamp": 3, "labels": null,
			 "container_status": {"network_infos": [{"ip_address": "10.5.5.5"}]}}]}]}]}`)
	if st.Leader.Host != "10.0.0.7" || st.Leader.Port != 5050 {
		t.Errorf("leader from leader_info: %+v", st.Leader)
	}
	tk := st.Frameworks[0].Tasks[0]
	if tk.Discovery == nil || len(tk.Discovery.Ports) != 0 || tk.Ports != nil || tk.Name != "n" {
		t.Errorf("task %+v", tk)
	}
	if s, _ := tk.LatestRunning(); len(s.IPs) != 1 || s.IPs[0].String() != "10.5.5.5" {
		t.Errorf("0.25 network_infos: %+v", s)
	}
	// leader_info.pid when leader is missing; a bad leader is counted, not fatal.
	st = mustDecode(t, `{"leader": "junk", "leader_info": {"pid": "master@10.0.0.8:5050"}}`)
	if st.Leader.Host != "10.0.0.8" || st.Skipped[SkipLeaderBadPID] != 1 {
		t.Errorf("leader %+v skipped %v", st.Leader, st.Skipped)
	}
	st = mustDecode(t, `{}`)
	if !st.Leader.IsZero() || len(st.Agents) != 0 {
		t.Errorf("empty state %+v", st)
	}
}

func TestDecodeErrors(t *testing.T) {
	good, err := os.ReadFile("../../testdata/mesos/state-1.5.0-dcos.json")
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"empty":         nil,
		"whitespace":    []byte("  \n"),
		"array":         []byte(`[1,2]`),
		"string":        []byte(`"state"`),
		"truncated":     good[:len(good)/2],
		"no-last-brace": bytes.TrimSpace(good)[:len(bytes.TrimSpace(good))-1],
		"garbage":       []byte(`{"slaves": [}`),
		"trailing":      append(bytes.Clone(good), []byte(`{}`)...),
		"bad-slaves":    []byte(`{"slaves": 5}`),
		"html":          []byte(`<html>503 Service Unavailable</html>`),
	}
	for name, in := range cases {
		st, err := Decode(bytes.NewReader(in))
		if err == nil || st != nil {
			t.Errorf("%s: got state %v, err %v", name, st, err)
		}
	}
	// A failing reader is an error too, not a short state.
	_, err = Decode(io.MultiReader(bytes.NewReader(good[:100]), iotest.ErrReader(errors.New("connection reset"))))
	if err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Errorf("reader error: %v", err)
	}
}

func TestDecodeOneByteAtATime(t *testing.T) {
	good, _ := os.ReadFile("../../testdata/mesos/state-1.5.0-dcos.json")
	a, err := Decode(bytes.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Decode(iotest.OneByteReader(bytes.NewReader(good)))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Frameworks) != len(b.Frameworks) || len(a.Frameworks[1].Tasks) != len(b.Frameworks[1].Tasks) || a.Leader != b.Leader {
		t.Error("streaming in small reads changes the result")
	}
}

func TestCaptures(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/mesos/state-*.json")
	if len(files) < 4 {
		t.Fatalf("found %d captures", len(files))
	}
	want := map[string]struct{ agents, frameworks, tasks int }{
		"state-0.19.0-playa.json":       {2, 1, 2},
		"state-0.25.0-compose.json":     {2, 1, 0},
		"state-1.2.0-dcos-trimmed.json": {0, 1, 0},
		"state-1.5.0-dcos.json":         {2, 2, 6},
	}
	for _, f := range files {
		r, _ := os.Open(f)
		st, err := Decode(r)
		r.Close()
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		tasks := 0
		for _, fw := range st.Frameworks {
			tasks += len(fw.Tasks)
		}
		w := want[filepath.Base(f)]
		if len(st.Agents) != w.agents || len(st.Frameworks) != w.frameworks || tasks != w.tasks || st.Skipped.Total() != 0 {
			t.Errorf("%s: %d agents, %d frameworks, %d tasks, skipped %v", f, len(st.Agents), len(st.Frameworks), tasks, st.Skipped)
		}
	}
}

func TestParsePID(t *testing.T) {
	good := map[string]PID{
		"slave(1)@10.0.0.5:5051":         {"slave(1)", "10.0.0.5", 5051},
		"master@m1.example.com:5050":     {"master", "m1.example.com", 5050},
		"scheduler-x@[fd00::1]:9000":     {"scheduler-x", "fd00::1", 9000},
		"scheduler-0dea@127.0.0.1:47568": {"scheduler-0dea", "127.0.0.1", 47568},
		"a@b@10.0.0.1:1":                 {"a@b", "10.0.0.1", 1},
	}
	for in, want := range good {
		got, err := ParsePID(in)
		if err != nil || got != want {
			t.Errorf("ParsePID(%q) = %+v, %v", in, got, err)
		}
		if got.String() != in {
			t.Errorf("String() = %q, want %q", got.String(), in)
		}
	}
	for _, in := range []string{"", "master", "@10.0.0.1:5050", "m@10.0.0.1", "m@10.0.0.1:0", "m@10.0.0.1:x", "m@:5050", "m@[zz]:1", "m@ho st:1", "m@[fd00::1:1"} {
		if p, err := ParsePID(in); err == nil {
			t.Errorf("ParsePID(%q) = %+v, want error", in, p)
		}
	}
}

func TestParsePorts(t *testing.T) {
	got, err := ParsePorts("[31000-31001, 31005-31005,8080]")
	if err != nil || len(got) != 3 || got[0] != (PortRange{8080, 8080}) || got[1] != (PortRange{31000, 31001}) {
		t.Errorf("got %v %v", got, err)
	}
	// Overlapping and repeated ranges are merged before anything expands them.
	got, err = ParsePorts("[1-65535, 1-65535, 80-90, 65535-65535]")
	if err != nil || len(got) != 1 || got[0] != (PortRange{1, 65535}) {
		t.Errorf("overlapping: %v %v", got, err)
	}
	got, err = ParsePorts("[10-20, 5-12, 21-22, 30-30]")
	if err != nil || len(got) != 2 || got[0] != (PortRange{5, 22}) || got[1] != (PortRange{30, 30}) {
		t.Errorf("overlapping and adjacent: %v %v", got, err)
	}
	if got, err := ParsePorts("[]"); err != nil || got != nil {
		t.Errorf("empty: %v %v", got, err)
	}
	for _, in := range []string{"", "31000-31001", "[a-b]", "[2-1]", "[0-5]", "[1-70000]", "[1-2,]"} {
		if _, err := ParsePorts(in); err == nil {
			t.Errorf("ParsePorts(%q) accepted", in)
		}
	}
}

func TestTaskStateNames(t *testing.T) {
	for s := TaskUnknown; s <= TaskGoneByOperator; s++ {
		back, ok := ParseTaskState(s.String())
		if !ok || back != s {
			t.Errorf("%v does not round-trip", s)
		}
	}
	if _, ok := ParseTaskState("TASK_NOPE"); ok {
		t.Error("unknown state accepted")
	}
}

func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob("../../testdata/mesos/*.json")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"slaves":[{"id":"a","pid":"slave(1)@1.2.3.4:5"}],"frameworks":[{"id":"f","tasks":[{"id":"t","state":"TASK_RUNNING","resources":{"ports":"[1-2]"}}]}]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		st, err := Decode(bytes.NewReader(in))
		if (st == nil) == (err == nil) {
			t.Fatalf("state %v with error %v", st, err)
		}
		if err != nil {
			return
		}
		// Agents with a bad pid are kept without an address, and counted; a state
		// whose every agent is malformed is an error.
		withPID := 0
		for _, a := range st.Agents {
			if a.ID == "" {
				t.Fatalf("agent kept without id: %+v", a)
			}
			if !a.PID.IsZero() {
				withPID++
			}
		}
		if len(st.Agents) > 0 && withPID == 0 {
			t.Fatalf("a state whose every agent is malformed: %+v", st.Agents)
		}
		if noPID := len(st.Agents) - withPID; st.Skipped[SkipAgentBadPID] < noPID {
			t.Fatalf("%d agents without a pid, %d counted", noPID, st.Skipped[SkipAgentBadPID])
		}
		for _, fw := range st.Frameworks {
			if fw.ID == "" {
				t.Fatal("framework kept without id")
			}
			for _, tk := range fw.Tasks {
				if tk.ID == "" || tk.State.String() == "" {
					t.Fatalf("task kept without id: %+v", tk)
				}
				for i, p := range tk.Ports {
					if p.Begin == 0 || p.Begin > p.End || i > 0 && p.Begin <= tk.Ports[i-1].End {
						t.Fatalf("bad or overlapping range kept: %+v", tk.Ports)
					}
				}
				for _, s := range tk.Statuses {
					for _, ip := range s.IPs {
						if !Usable(ip) {
							t.Fatalf("unusable address kept: %v", ip)
						}
					}
				}
			}
		}
	})
}

// TestDecodeHostileDocuments: each odd document ends in a clear error or a counted
// skip, in bounded time, never a hang or a partial state passed off as whole.
func TestDecodeHostileDocuments(t *testing.T) {
	agent := `{"id": "a", "pid": "slave(1)@10.0.1.1:5051"}`
	deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	cases := []struct {
		name, doc string
		err       string // a substring of the error, or "" for a state
		skip      string // a reason counted, with a state
	}{
		{"every agent malformed", `{"leader": "master@10.0.0.2:5050", "slaves": [{"id": "a", "pid": "x"}, {"id": "b", "pid": "slave(1)@0.0.0.0:1"}, "junk"]}`, "every one of the 3 agents is malformed", ""},
		{"no agents at all", `{"leader": "master@10.0.0.2:5050", "slaves": []}`, "", ""},
		{"byte order mark", "\xef\xbb\xbf{\"leader\": \"master@10.0.0.2:5050\", \"slaves\": [" + agent + "]}", "", ""},
		{"number for a string", `{"leader": "master@10.0.0.2:5050", "slaves": [{"id": 5, "pid": "slave(1)@10.0.1.1:5051"}, ` + agent + `]}`, "", SkipAgentMalformed},
		{"nulls", `{"leader": null, "slaves": null, "frameworks": [{"id": "f", "name": null, "tasks": null}]}`, "", ""},
		{"duplicate keys", `{"leader": "master@10.0.0.9:5050", "leader": "master@10.0.0.2:5050", "slaves": [` + agent + `]}`, "", ""},
		{"trailing garbage", `{"slaves": []} {"slaves": []}`, "unexpected data after the document", ""},
		{"html", `<html><body>502 Bad Gateway</body></html>`, "mesos state", ""},
		{"deep nesting", `{"slaves": [` + agent + `], "x": ` + deep + `}`, "mesos state", ""},
		{"huge string", `{"slaves": [` + agent + `], "x": "` + strings.Repeat("a", 8<<20) + `"}`, "", ""},
		{"not an object", `[1, 2]`, "not a JSON object", ""},
		{"truncated", `{"slaves": [` + agent, "mesos state", ""},
	}
	for _, tc := range cases {
		st, err := Decode(strings.NewReader(tc.doc))
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.skip != "" && st.Skipped[tc.skip] == 0:
			t.Errorf("%s: skips %v, want %s counted", tc.name, st.Skipped, tc.skip)
		}
	}
	st := mustDecode(t, `{"leader": "master@10.0.0.9:5050", "leader": "master@10.0.0.2:5050", "slaves": [`+agent+`]}`)
	if st.Leader.Host != "10.0.0.2" {
		t.Errorf("duplicate keys: the last one wins as in Mesos's own JSON, got leader %v", st.Leader)
	}
}

// A DiscoveryInfo port out of range costs that port, not the task (as in Mesos-DNS).
func TestDecodeDiscoveryPortZero(t *testing.T) {
	st := mustDecode(t, `{"slaves": [`+agentJSON+`], "frameworks": [{"id": "f", "name": "m", "tasks": [
		{"id": "t", "name": "web", "slave_id": "a", "state": "TASK_RUNNING",
		 "discovery": {"name": "web", "ports": {"ports": [{"number": 0, "name": "zero"}, {"number": 80, "name": "http", "protocol": "tcp"}]}}}]}]}`)
	if len(st.Frameworks) != 1 || len(st.Frameworks[0].Tasks) != 1 {
		t.Fatalf("frameworks %+v", st.Frameworks)
	}
	d := st.Frameworks[0].Tasks[0].Discovery
	if d == nil || len(d.Ports) != 1 || d.Ports[0] != (DiscoveryPort{Number: 80, Name: "http", Protocol: "tcp"}) {
		t.Errorf("discovery %+v", d)
	}
	if st.Skipped[SkipTaskBadDiscovery] != 1 || st.Skipped.Total() != 1 {
		t.Errorf("skipped %v", st.Skipped)
	}
}

// A list that is not one names itself in the error.
func TestDecodeListOfWrongType(t *testing.T) {
	for doc, want := range map[string]string{
		`{"slaves": {}}`:                     `"slaves" is an object, not an array`,
		`{"frameworks": "none"}`:             `"frameworks" is a string, not an array`,
		`{"recovered_slaves": 5}`:            `"recovered_slaves" is a number, not an array`,
		`{"slaves": [], "frameworks": true}`: `"frameworks" is a boolean, not an array`,
	} {
		_, err := Decode(strings.NewReader(doc))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error saying %s", doc, err, want)
		}
	}
}

// A master bound to 0.0.0.0 names itself leader by an address no record may carry:
// the state is its own, served without leader.D.
func TestDecodeUnusableSelfLeader(t *testing.T) {
	st := mustDecode(t, `{"leader": "master@0.0.0.0:5050", "pid": "master@0.0.0.0:5050", "slaves": [`+agentJSON+`]}`)
	if !st.Leader.IsZero() || !st.SelfLeads || len(st.Agents) != 1 {
		t.Errorf("leader %v, self leads %v, agents %v", st.Leader, st.SelfLeads, st.Agents)
	}
	st = mustDecode(t, `{"leader": "master@0.0.0.0:5050", "pid": "master@10.0.0.3:5050"}`)
	if st.SelfLeads {
		t.Error("a master naming another leader leads itself")
	}
}

// TestDecodeHooked: the hooks see the agents and then each framework as the State has
// them in the end, each framework's tasks the very ones it holds, for every capture.
func TestDecodeHooked(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/mesos/state-*.json")
	if len(files) < 4 {
		t.Fatalf("found %d captures", len(files))
	}
	for _, f := range files {
		js, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var agents []Agent
		var fws []Framework
		agentsFirst := false
		st, err := DecodeHooked(bytes.NewReader(js), Hooks{
			Agents: func(a []Agent) {
				agents = slices.Clone(a)
				agentsFirst = len(fws) == 0
			},
			Framework: func(fw Framework) { fws = append(fws, fw) },
		})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !reflect.DeepEqual(agents, st.Agents) {
			t.Errorf("%s: the Agents hook saw %d agents, the state has %d", f, len(agents), len(st.Agents))
		}
		if !reflect.DeepEqual(fws, st.Frameworks) {
			t.Errorf("%s: the Framework hook saw %d frameworks unlike the state's %d", f, len(fws), len(st.Frameworks))
		}
		for i := range fws {
			if len(fws[i].Tasks) > 0 && &fws[i].Tasks[0] != &st.Frameworks[i].Tasks[0] {
				t.Errorf("%s: framework %d's tasks are a copy, not the state's", f, i)
			}
		}
		// Masters before 1.0 list their agents after the frameworks; the others first.
		old := strings.Contains(f, "0.19.0") || strings.Contains(f, "0.25.0")
		if agentsFirst == old {
			t.Errorf("%s: the agents came before the frameworks: %v", f, agentsFirst)
		}
	}
}

// A task's network, as its ContainerInfo and its DiscoveryInfo ports' labels say it:
// the shapes of the captures events-1.5.0-docker.jsonl and events-1.9.0-after-failover.jsonl.
func TestDecodeNetwork(t *testing.T) {
	task := func(id, rest string) string {
		return `{"id": "` + id + `", "name": "` + id + `", "slave_id": "a", "state": "TASK_RUNNING"` + rest + `}`
	}
	st := mustDecode(t, `{"slaves": [`+agentJSON+`], "frameworks": [{"id": "f", "name": "m", "tasks": [`+
		task("bridge", `, "container": {"type": "DOCKER", "docker": {"image": "x", "port_mappings": [{"host_port": 20560, "container_port": 8080, "protocol": "tcp"}], "network": "BRIDGE"}},
		 "discovery": {"name": "bridge", "ports": {"ports": [{"number": 20560, "name": "http", "protocol": "tcp", "labels": {"labels": [{"key": "network-scope", "value": "host"}]}}]}}`)+`,`+
		task("ucr", `, "container": {"type": "MESOS", "network_infos": [{"name": "mesos-bridge", "port_mappings": [{"container_port": 10080, "host_port": 2160}, {"container_port": 0, "host_port": 5}]}]},
		 "discovery": {"name": "ucr", "ports": {"ports": [{"number": 2160, "labels": {"labels": [{"key": "VIP_0", "value": "/web:10080"}]}}, {"number": 10080, "labels": {"labels": [{"key": "network-scope", "value": "container"}]}}]}}`)+`,`+
		task("host", `, "container": {"type": "DOCKER", "docker": {"network": "HOST", "port_mappings": [{"host_port": 80, "container_port": 80}]}}`)+`,`+
		task("overlay", `, "container": {"type": "DOCKER", "docker": {"network": "USER"}, "network_infos": [{"name": "dcos"}]}`)+`,`+
		task("none", `, "container": null`)+
		`]}]}`)
	tasks := map[string]*Task{}
	for i := range st.Frameworks[0].Tasks {
		tk := &st.Frameworks[0].Tasks[i]
		tasks[tk.ID] = tk
	}
	if len(tasks) != 5 {
		t.Fatalf("tasks %v", tasks)
	}
	b := tasks["bridge"]
	if b.Net == nil || !b.Net.Bridged || !slices.Equal(b.Net.Mappings, []PortMapping{{Host: 20560, Container: 8080}}) || !b.ViaAgent() {
		t.Errorf("docker bridge: %+v", b.Net)
	}
	if p := b.Discovery.Ports[0]; p.Scope != ScopeHost || !b.HostPort(&p) {
		t.Errorf("docker bridge port: %+v", p)
	}
	u := tasks["ucr"]
	if u.Net == nil || u.Net.Bridged || !slices.Equal(u.Net.Mappings, []PortMapping{{Host: 2160, Container: 10080}}) || !u.ViaAgent() {
		t.Errorf("mesos-bridge: %+v", u.Net)
	}
	// No scope label: the mapped host port is the agent's; the container port is
	// labelled so, and a container port it would be without the label too.
	if p := u.Discovery.Ports[0]; p.Scope != ScopeUnset || !u.HostPort(&p) {
		t.Errorf("unlabelled host port: %+v", p)
	}
	if p := u.Discovery.Ports[1]; p.Scope != ScopeContainer || u.HostPort(&p) {
		t.Errorf("container port: %+v", p)
	}
	if p := (DiscoveryPort{Number: 10080}); u.HostPort(&p) {
		t.Error("an unlabelled container port counted as the agent's")
	}
	for _, id := range []string{"host", "overlay", "none"} {
		if tk := tasks[id]; tk.Net != nil || tk.ViaAgent() {
			t.Errorf("%s: network %+v, want none that DNS uses", id, tk.Net)
		}
	}
	if st.Skipped[SkipTaskBadMapping] != 1 || st.Skipped.Total() != 1 {
		t.Errorf("skipped %v, want the mapping of port 0", st.Skipped)
	}
	// Two values of a task that differ only in their network are not the same task.
	other := *b
	other.Net = &Network{Mappings: b.Net.Mappings}
	if SameTask(b, &other) {
		t.Error("SameTask misses a change of network")
	}
	other = *b
	other.Discovery = &Discovery{Name: "bridge", Ports: []DiscoveryPort{{Number: 20560, Name: "http", Protocol: "tcp"}}}
	if SameTask(b, &other) {
		t.Error("SameTask misses a change of a port's scope")
	}
}

// An agent's fault domain, as a 1.5+ master writes it; one without both names is in
// none (Mesos requires both).
func TestDecodeAgentDomain(t *testing.T) {
	st := mustDecode(t, `{"slaves": [
		{"id": "a-S0", "pid": "slave(1)@10.0.0.1:5051", "domain": {"fault_domain": {"region": {"name": "aws/us-west-2"}, "zone": {"name": "aws/us-west-2a"}}}},
		{"id": "a-S1", "pid": "slave(1)@10.0.0.2:5051", "domain": {"fault_domain": {"region": {"name": "aws/us-west-2"}}}},
		{"id": "a-S2", "pid": "slave(1)@10.0.0.3:5051", "domain": null},
		{"id": "a-S3", "pid": "slave(1)@10.0.0.4:5051"}]}`)
	want := [][2]string{{"aws/us-west-2", "aws/us-west-2a"}, {}, {}, {}}
	for i, a := range st.Agents {
		if got := [2]string{a.Region, a.Zone}; got != want[i] {
			t.Errorf("%s: region and zone %q, want %q", a.ID, got, want[i])
		}
	}
}

// A task's port mappings past its first 1024 are left out and counted, so that
// matching its DiscoveryInfo ports against them stays cheap on a hostile state.
func TestDecodeMappingsBounded(t *testing.T) {
	maps := make([]string, 0, 2000)
	for i := range 2000 {
		maps = append(maps, fmt.Sprintf(`{"host_port": %d, "container_port": 80}`, 1+i))
	}
	st := mustDecode(t, `{"slaves": [`+agentJSON+`], "frameworks": [{"id": "f", "name": "m", "tasks": [
		{"id": "t", "name": "web", "slave_id": "a", "state": "TASK_RUNNING",
		 "container": {"docker": {"network": "BRIDGE", "port_mappings": [`+strings.Join(maps, ",")+`]}}}]}]}`)
	tk := st.Frameworks[0].Tasks[0]
	if tk.Net == nil || len(tk.Net.Mappings) != 1024 || st.Skipped[SkipTaskBadMapping] != 976 {
		t.Errorf("mappings kept %d, skipped %v", len(tk.Net.Mappings), st.Skipped)
	}
}
