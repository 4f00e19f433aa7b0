package fakemaster

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// demo is a small cluster: two agents, marathon with two "web" tasks, chronos with one.
const demo = `{"leader":"master@127.0.0.1:5050","slaves":[` +
	`{"id":"a-S0","hostname":"127.0.0.2","pid":"slave(1)@127.0.0.2:5051"},` +
	`{"id":"a-S1","hostname":"127.0.0.3","pid":"slave(1)@127.0.0.3:5052"}],` +
	`"frameworks":[{"id":"f-marathon","name":"marathon","tasks":[` +
	`{"id":"web.1","name":"web","slave_id":"a-S0","state":"TASK_RUNNING","resources":{"ports":"[31000-31000]"}},` +
	`{"id":"web.2","name":"web","slave_id":"a-S1","state":"TASK_RUNNING","resources":{"ports":"[31001-31001]"}}]},` +
	`{"id":"f-chronos","name":"chronos","tasks":[{"id":"job.1","name":"job","slave_id":"a-S0","state":"TASK_RUNNING"}]}]}`

// control calls a /fake/ endpoint and returns its status and body.
func control(t *testing.T, m *Master, path string) (int, string) {
	t.Helper()
	resp, err := http.Post(m.URL()+path, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// stateTasks is every running task of /master/state, as "framework/id/name".
func stateTasks(t *testing.T, m *Master) []string {
	t.Helper()
	resp, err := http.Get(m.URL() + "/master/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		Frameworks []struct {
			ID    string `json:"id"`
			Tasks []struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"tasks"`
		} `json:"frameworks"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("/master/state: %v", err)
	}
	var out []string
	for _, f := range st.Frameworks {
		for _, task := range f.Tasks {
			out = append(out, f.ID+"/"+task.ID+"/"+task.Name)
		}
	}
	slices.Sort(out)
	return out
}

// v1Tasks is every task of a v1 get_state, as "framework/id/name".
func v1Tasks(t *testing.T, getState json.RawMessage) []string {
	t.Helper()
	var st struct {
		GetTasks struct {
			Tasks []struct {
				Name        string            `json:"name"`
				TaskID      map[string]string `json:"task_id"`
				FrameworkID map[string]string `json:"framework_id"`
			} `json:"tasks"`
		} `json:"get_tasks"`
	}
	if err := json.Unmarshal(getState, &st); err != nil {
		t.Fatalf("get_state: %v", err)
	}
	out := make([]string, 0, len(st.GetTasks.Tasks))
	for _, task := range st.GetTasks.Tasks {
		out = append(out, task.FrameworkID["value"]+"/"+task.TaskID["value"]+"/"+task.Name)
	}
	slices.Sort(out)
	return out
}

// getState is the master's answer to GET_STATE.
func getState(t *testing.T, m *Master) json.RawMessage {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, m.URL()+"/api/v1", strings.NewReader(`{"type":"GET_STATE"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		GetState json.RawMessage `json:"get_state"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("GET_STATE: %v", err)
	}
	return out.GetState
}

// stream is one SUBSCRIBE call, read record by record.
type stream struct {
	t    *testing.T
	conn io.ReadCloser
	r    *bufio.Reader
	recs chan []byte
	err  chan error
}

// subscribe opens a stream and returns it with its SUBSCRIBED record's get_state and
// heartbeat interval.
func subscribe(t *testing.T, m *Master) (*stream, json.RawMessage, float64) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, m.URL()+"/api/v1", strings.NewReader(`{"type":"SUBSCRIBE"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("SUBSCRIBE: %s", resp.Status)
	}
	s := &stream{t: t, conn: resp.Body, r: bufio.NewReader(resp.Body), recs: make(chan []byte, 1<<16), err: make(chan error, 1)}
	t.Cleanup(func() { resp.Body.Close() })
	go func() {
		for {
			line, err := s.r.ReadString('\n')
			if err != nil {
				s.err <- err
				return
			}
			n, err := strconv.Atoi(strings.TrimSpace(line))
			if err != nil {
				s.err <- fmt.Errorf("record length %q", line)
				return
			}
			rec := make([]byte, n)
			if _, err := io.ReadFull(s.r, rec); err != nil {
				s.err <- err
				return
			}
			s.recs <- rec
		}
	}()
	first := s.next(time.Minute)
	var sub struct {
		Type       string `json:"type"`
		Subscribed struct {
			GetState  json.RawMessage `json:"get_state"`
			Heartbeat float64         `json:"heartbeat_interval_seconds"`
		} `json:"subscribed"`
	}
	if err := json.Unmarshal(first, &sub); err != nil || sub.Type != "SUBSCRIBED" {
		t.Fatalf("first record %.200s: %v", first, err)
	}
	return s, sub.Subscribed.GetState, sub.Subscribed.Heartbeat
}

// errTimeout is next's error when no record came in time.
var errTimeout = errors.New("no record in time")

// nextOrErr is the next record, the stream's error, or errTimeout after d.
func (s *stream) nextOrErr(d time.Duration) ([]byte, error) {
	select {
	case rec := <-s.recs:
		return rec, nil
	case err := <-s.err:
		s.err <- err // it stays ended
		return nil, err
	case <-time.After(d):
		return nil, errTimeout
	}
}

func (s *stream) next(d time.Duration) []byte {
	s.t.Helper()
	rec, err := s.nextOrErr(d)
	if err != nil {
		s.t.Fatalf("stream: %v", err)
	}
	return rec
}

// until reads records, heartbeats skipped, until one contains want, and returns it.
func (s *stream) until(want string) []byte {
	s.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		rec := s.next(time.Until(deadline))
		if strings.Contains(string(rec), want) {
			return rec
		}
	}
	s.t.Fatalf("no record with %q", want)
	return nil
}

// ended waits for the stream to end.
func (s *stream) ended() bool {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if _, err := s.nextOrErr(time.Until(deadline)); err != nil {
			return err != errTimeout
		}
	}
	return false
}

// TestLaunchAndKill: a task launched or killed through /fake/ is in every view of the
// master: its event on the open stream, /master/state, GET_STATE and a new
// SUBSCRIBED snapshot; so a poll or a resync does not undo what the events did.
func TestLaunchAndKill(t *testing.T) {
	m := StartT(t, []byte(demo))
	s, _, _ := subscribe(t, m)
	before := stateTasks(t, m)

	code, body := control(t, m, "/fake/launch?name=api&ports=2&agent=127.0.0.3")
	if code != http.StatusOK || !strings.Contains(body, "launched api.fake-1") || !strings.Contains(body, "ports [31100-31101]") || !strings.Contains(body, "agent a-S1") || !strings.Contains(body, "framework marathon") {
		t.Fatalf("launch: %d %q", code, body)
	}
	ev := s.until("TASK_ADDED")
	var added struct {
		TaskAdded struct {
			Task struct {
				Name      string            `json:"name"`
				TaskID    map[string]string `json:"task_id"`
				AgentID   map[string]string `json:"agent_id"`
				State     string            `json:"state"`
				Resources []struct {
					Ranges struct {
						Range []struct{ Begin, End int } `json:"range"`
					} `json:"ranges"`
				} `json:"resources"`
			} `json:"task"`
		} `json:"task_added"`
	}
	if err := json.Unmarshal(ev, &added); err != nil {
		t.Fatal(err)
	}
	task := added.TaskAdded.Task
	if task.Name != "api" || task.TaskID["value"] != "api.fake-1" || task.AgentID["value"] != "a-S1" || task.State != "TASK_RUNNING" ||
		len(task.Resources) != 1 || len(task.Resources[0].Ranges.Range) != 1 || task.Resources[0].Ranges.Range[0].Begin != 31100 || task.Resources[0].Ranges.Range[0].End != 31101 {
		t.Errorf("TASK_ADDED: %s", ev)
	}
	want := slices.Sorted(slices.Values(append(slices.Clone(before), "f-marathon/api.fake-1/api")))
	if got := stateTasks(t, m); !slices.Equal(got, want) {
		t.Errorf("/master/state after the launch: %v, want %v", got, want)
	}
	if got := v1Tasks(t, getState(t, m)); !slices.Equal(got, want) {
		t.Errorf("GET_STATE after the launch: %v, want %v", got, want)
	}
	_, snap, _ := subscribe(t, m)
	if got := v1Tasks(t, snap); !slices.Equal(got, want) {
		t.Errorf("a new SUBSCRIBED after the launch: %v, want %v", got, want)
	}
	// Launched without ports, on the agents in turn, in another framework.
	if code, body := control(t, m, "/fake/launch?name=cron&ports=0&framework=chronos"); code != http.StatusOK || strings.Contains(body, "ports") || !strings.Contains(body, "framework chronos") {
		t.Errorf("launch without ports: %d %q", code, body)
	}

	// Killed by name: the last one launched of that name.
	code, body = control(t, m, "/fake/kill?name=web")
	if code != http.StatusOK || body != "ok: killed web.2\n" {
		t.Fatalf("kill: %d %q", code, body)
	}
	if ev := s.until("TASK_KILLED"); !strings.Contains(string(ev), `"web.2"`) || !strings.Contains(string(ev), `"f-marathon"`) {
		t.Errorf("TASK_KILLED: %s", ev)
	}
	want = stateTasks(t, m)
	if slices.Contains(want, "f-marathon/web.2/web") || !slices.Contains(want, "f-marathon/web.1/web") {
		t.Errorf("/master/state after the kill: %v", want)
	}
	if got := v1Tasks(t, getState(t, m)); !slices.Equal(got, want) {
		t.Errorf("GET_STATE after the kill: %v, want %v", got, want)
	}
	_, snap, _ = subscribe(t, m)
	if got := v1Tasks(t, snap); !slices.Equal(got, want) {
		t.Errorf("a new SUBSCRIBED after the kill: %v, want %v", got, want)
	}
	// By id, and every one of a name.
	if code, body := control(t, m, "/fake/kill?id=api.fake-1"); code != http.StatusOK || body != "ok: killed api.fake-1\n" {
		t.Errorf("kill by id: %d %q", code, body)
	}
	control(t, m, "/fake/launch?name=web")
	if code, body := control(t, m, "/fake/kill?name=web&all=1"); code != http.StatusOK || !strings.Contains(body, "web.1") || !strings.Contains(body, "web.fake-") {
		t.Errorf("kill all: %d %q", code, body)
	}
	for _, task := range stateTasks(t, m) {
		if strings.HasSuffix(task, "/web") || strings.Contains(task, "api") {
			t.Errorf("still running: %s", task)
		}
	}

	// Refused, saying why.
	for path, why := range map[string]string{
		"/fake/launch":                       "needs a name",
		"/fake/launch?name=x&ports=many":     "a number of ports",
		"/fake/launch?name=x&ports=5000":     "from 0 to 1000",
		"/fake/launch?name=x&agent=nope":     "a-S0, a-S1",
		"/fake/launch?name=x&framework=nope": "marathon, chronos",
		"/fake/kill":                         "needs id=",
		"/fake/kill?id=web.1&name=web":       "needs id=",
		"/fake/kill?id=nope":                 `no running task with id "nope"`,
		"/fake/kill?name=nope":               `no running task named "nope"`,
	} {
		if code, body := control(t, m, path); code != http.StatusBadRequest || !strings.Contains(body, why) {
			t.Errorf("%s: %d %q, want 400 saying %q", path, code, body, why)
		}
	}
}

// TestSetStateEndsChanges: SetState serves the new document as it is, whatever was
// launched on the one before.
func TestSetStateEndsChanges(t *testing.T) {
	m := StartT(t, []byte(demo))
	if _, err := m.Launch(Launch{Name: "extra"}); err != nil {
		t.Fatal(err)
	}
	m.SetState([]byte(demo))
	for _, task := range stateTasks(t, m) {
		if strings.Contains(task, "extra") {
			t.Errorf("a task launched on the old state is served: %s", task)
		}
	}
}

// TestChurnKeepsTheState: the tasks churn launches and kills are in /master/state and
// in a new snapshot too, exactly those the events left running.
func TestChurnKeepsTheState(t *testing.T) {
	m := StartT(t, []byte(demo))
	s, _, _ := subscribe(t, m)
	// events are the tasks the stream's events leave running.
	events := map[string]bool{}
	apply := func(rec []byte) {
		var ev struct {
			Type      string `json:"type"`
			TaskAdded struct {
				Task struct {
					Name        string            `json:"name"`
					TaskID      map[string]string `json:"task_id"`
					FrameworkID map[string]string `json:"framework_id"`
				} `json:"task"`
			} `json:"task_added"`
			TaskUpdated struct {
				FrameworkID map[string]string `json:"framework_id"`
				Status      struct {
					TaskID map[string]string `json:"task_id"`
				} `json:"status"`
			} `json:"task_updated"`
		}
		if err := json.Unmarshal(rec, &ev); err != nil {
			t.Fatalf("%s: %v", rec, err)
		}
		switch ev.Type {
		case "TASK_ADDED":
			task := ev.TaskAdded.Task
			events[task.FrameworkID["value"]+"/"+task.TaskID["value"]+"/"+task.Name] = true
		case "TASK_UPDATED":
			prefix := ev.TaskUpdated.FrameworkID["value"] + "/" + ev.TaskUpdated.Status.TaskID["value"] + "/"
			for k := range events {
				if strings.HasPrefix(k, prefix) {
					delete(events, k)
				}
			}
		}
	}
	if code, _ := control(t, m, "/fake/churn?per_second=2000"); code != http.StatusOK {
		t.Fatal(code)
	}
	// Well past the first kills (50 launches behind).
	for {
		rec := s.next(time.Minute)
		apply(rec)
		if strings.Contains(string(rec), `"churn.120"`) {
			break
		}
	}
	if err := m.Churn(0); err != nil {
		t.Fatal(err)
	}
	state := stateTasks(t, m)
	var churned []string
	for _, task := range state {
		if strings.Contains(task, "/churn.") {
			churned = append(churned, task)
		}
	}
	// Churn stopped after launch i and the kill of i-50: the last 50 are running.
	if len(churned) != 50 {
		t.Errorf("%d churned tasks in /master/state, want 50: %v", len(churned), churned)
	}
	if got := v1Tasks(t, getState(t, m)); !slices.Equal(got, state) {
		t.Errorf("GET_STATE differs from /master/state:\n%v\n%v", got, state)
	}
	_, snap, _ := subscribe(t, m)
	if got := v1Tasks(t, snap); !slices.Equal(got, state) {
		t.Errorf("the new snapshot differs from /master/state:\n%v\n%v", got, state)
	}
	// The churn has stopped: every event it sent is before this one on the stream.
	m.Emit(`{"type":"MARKER"}`)
	for {
		rec := s.next(time.Minute)
		if strings.Contains(string(rec), "MARKER") {
			break
		}
		apply(rec)
	}
	if len(events) != len(churned) {
		t.Errorf("the events leave %d churned tasks running, the state %d", len(events), len(churned))
	}
	for _, task := range churned {
		if !events[task] {
			t.Errorf("%s: in /master/state, not left running by the events", task)
		}
	}
}

// TestFollowerControl: /fake/follower makes the master redirect to the leader named
// and end its streams; leader= with nothing makes it lead again; only loopback
// leaders are taken.
func TestFollowerControl(t *testing.T) {
	a, b := StartT(t, []byte(demo)), StartT(t, []byte(demo))
	s, _, _ := subscribe(t, a)
	if code, body := control(t, a, "/fake/follower?leader="+b.Addr()); code != http.StatusOK || !strings.Contains(body, "following "+b.Addr()) {
		t.Fatalf("follower: %d %q", code, body)
	}
	if !s.ended() {
		t.Error("the follower's open stream did not end")
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(a.URL() + "/master/state")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != "//"+b.Addr()+"/master/state" {
		t.Errorf("the follower's /master/state: %s %q", resp.Status, resp.Header.Get("Location"))
	}
	for path, why := range map[string]string{
		"/fake/follower?leader=10.1.2.3:5050": "outside loopback",
		"/fake/follower?leader=" + a.Addr():   "is this master",
		"/fake/follower?leader=nonsense":      "missing port",
	} {
		if code, body := control(t, a, path); code != http.StatusBadRequest || !strings.Contains(body, why) {
			t.Errorf("%s: %d %q, want 400 saying %q", path, code, body, why)
		}
	}
	if code, body := control(t, a, "/fake/follower?leader="); code != http.StatusOK || !strings.Contains(body, "leading again") {
		t.Errorf("lead again: %d %q", code, body)
	}
	if got := stateTasks(t, a); len(got) != 3 {
		t.Errorf("leading again, /master/state: %v", got)
	}
}

// TestFailoverControl: a failover ends the streams; until the agents re-register the
// state lists them as recovered and no task, in /master/state and in a new snapshot,
// under a new master id; then they and their tasks are back, with AGENT_ADDED and
// TASK_ADDED events on the streams opened meanwhile.
func TestFailoverControl(t *testing.T) {
	m := StartT(t, []byte(demo))
	control(t, m, "/fake/launch?name=api&agent=a-S0")
	before := stateTasks(t, m)
	s, _, _ := subscribe(t, m)
	oldID := masterID(t, m)
	if code, body := control(t, m, "/fake/failover?reregister=1h"); code != http.StatusOK || !strings.Contains(body, "re-register in 1h0m0s") {
		t.Fatalf("failover: %d %q", code, body)
	}
	if !s.ended() {
		t.Error("the stream outlived the failover")
	}
	if id := masterID(t, m); id == oldID {
		t.Errorf("the new leader has the old one's id %q", id)
	}
	if got := stateTasks(t, m); len(got) != 0 {
		t.Errorf("tasks while the agents are recovering: %v", got)
	}
	resp, err := http.Get(m.URL() + "/master/state")
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Slaves    []json.RawMessage `json:"slaves"`
		Recovered []struct {
			ID   string `json:"id"`
			Port int    `json:"port"`
		} `json:"recovered_slaves"`
	}
	json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if len(st.Slaves) != 0 || len(st.Recovered) != 2 || st.Recovered[1].ID != "a-S1" || st.Recovered[1].Port != 5052 {
		t.Errorf("agents while recovering: %d registered, recovered %+v", len(st.Slaves), st.Recovered)
	}
	s2, snap, _ := subscribe(t, m)
	if !strings.Contains(string(snap), `"recovered_agents":[{`) || len(v1Tasks(t, snap)) != 0 {
		t.Errorf("the snapshot while recovering: %.400s", snap)
	}
	if !m.Recovering() {
		t.Error("not recovering")
	}

	m.reregisterNow()
	for _, agent := range []string{"a-S0", "a-S1"} {
		if ev := s2.until("AGENT_ADDED"); !strings.Contains(string(ev), `"`+agent+`"`) {
			t.Errorf("AGENT_ADDED %s: %s", agent, ev)
		}
	}
	if got := stateTasks(t, m); !slices.Equal(got, before) {
		t.Errorf("after the re-registration: %v, want %v", got, before)
	}
	if m.Recovering() {
		t.Error("still recovering")
	}

	// The timer ends it by itself.
	if err := m.Failover(10 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for m.Recovering() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := stateTasks(t, m); !slices.Equal(got, before) {
		t.Errorf("after a 10 ms failover: %v, want %v", got, before)
	}
	if code, _ := control(t, m, "/fake/failover?reregister=soon"); code != http.StatusBadRequest {
		t.Errorf("a bad reregister: %d", code)
	}
}

// reregisterNow ends a failover at once, as its timer does.
func (m *Master) reregisterNow() {
	m.mu.Lock()
	l := m.live
	if m.reregister != nil {
		m.reregister.Stop()
	}
	m.mu.Unlock()
	m.reregistered(l)
}

func masterID(t *testing.T, m *Master) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, m.URL()+"/api/v1", strings.NewReader(`{"type":"GET_MASTER"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		GetMaster struct {
			MasterInfo struct {
				ID string `json:"id"`
			} `json:"master_info"`
		} `json:"get_master"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out.GetMaster.MasterInfo.ID
}

// TestHeartbeatsControl: the interval set is announced to streams opened after it and
// kept; paused, open streams get no heartbeat (an event still comes through); resumed,
// they get them again.
func TestHeartbeatsControl(t *testing.T) {
	m := StartT(t, []byte(demo))
	if code, body := control(t, m, "/fake/heartbeats?interval=100ms"); code != http.StatusOK || !strings.Contains(body, "every 100ms") {
		t.Fatalf("interval: %d %q", code, body)
	}
	s, _, hb := subscribe(t, m)
	if hb != 0.1 {
		t.Errorf("announced %v s, want 0.1", hb)
	}
	s.until("HEARTBEAT")
	s.until("HEARTBEAT")
	if code, body := control(t, m, "/fake/heartbeats?pause=1"); code != http.StatusOK || !strings.Contains(body, "paused") {
		t.Fatalf("pause: %d %q", code, body)
	}
	// A heartbeat sent before the pause may still be on its way; one after the
	// marker event was sent after the pause.
	m.Emit(`{"type":"MARKER"}`)
	s.until("MARKER")
	if rec, err := s.nextOrErr(time.Second); err != errTimeout {
		t.Errorf("paused, the stream carried %s (%v)", rec, err)
	}
	m.Emit(`{"type":"STILL_EVENTS"}`)
	s.until("STILL_EVENTS")
	if code, body := control(t, m, "/fake/heartbeats?pause=0"); code != http.StatusOK || !strings.Contains(body, "resumed") {
		t.Fatalf("resume: %d %q", code, body)
	}
	s.until("HEARTBEAT")
	for _, path := range []string{"/fake/heartbeats", "/fake/heartbeats?pause=yes", "/fake/heartbeats?interval=often"} {
		if code, _ := control(t, m, path); code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", path, code)
		}
	}
}

// TestStreamFaultControl: garbage sends a record that is not JSON and goes on; stall
// sends nothing more and keeps the connection; close ends the stream. Each reaches
// the streams open when it is asked for, and says how many.
func TestStreamFaultControl(t *testing.T) {
	m := StartT(t, []byte(demo))
	m.SetHeartbeat(0) // no heartbeats: every record below is one the test caused
	s, _, _ := subscribe(t, m)
	if code, body := control(t, m, "/fake/stream-fault?kind=garbage"); code != http.StatusOK || !strings.Contains(body, "garbage played on 1 open stream") {
		t.Fatalf("garbage: %d %q", code, body)
	}
	if rec := s.next(time.Minute); json.Valid(rec) {
		t.Errorf("garbage is JSON: %s", rec)
	}
	m.Emit(`{"type":"AFTER_GARBAGE"}`)
	s.until("AFTER_GARBAGE")

	if code, body := control(t, m, "/fake/stream-fault?kind=stall"); code != http.StatusOK || !strings.Contains(body, "stall played on 1 open stream") {
		t.Fatalf("stall: %d %q", code, body)
	}
	// The stall is taken before any event emitted after it was asked for.
	m.Emit(`{"type":"LOST"}`)
	if rec, err := s.nextOrErr(time.Second); err != errTimeout {
		t.Errorf("stalled, the stream carried %s (%v)", rec, err)
	}
	if m.Streams() != 1 {
		t.Errorf("%d streams open, want the stalled one", m.Streams())
	}

	s2, _, _ := subscribe(t, m)
	if code, body := control(t, m, "/fake/stream-fault?kind=close"); code != http.StatusOK || !strings.Contains(body, "close played on 2 open stream") {
		t.Fatalf("close: %d %q", code, body)
	}
	if !s.ended() || !s2.ended() {
		t.Error("a stream outlived close")
	}
	if code, body := control(t, m, "/fake/stream-fault?kind=bogus"); code != http.StatusBadRequest || !strings.Contains(body, "close, stall, garbage") {
		t.Errorf("an unknown kind: %d %q", code, body)
	}
}

// TestDemoState: the quick start's demo state can be launched on and killed from.
func TestDemoState(t *testing.T) {
	js, err := ReadCapture("../../testdata/demo/state.json")
	if err != nil {
		t.Fatal(err)
	}
	m := StartT(t, js)
	if _, err := m.Launch(Launch{Name: "web", Ports: 1}); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, task := range stateTasks(t, m) {
		if strings.HasSuffix(task, "/web") {
			n++
		}
	}
	if n != 3 {
		t.Errorf("%d web tasks after a launch on the demo state, want 3", n)
	}
}
