package mesos

import (
	"bufio"

	"github.com/coredns-mesos/mesos/plugin/records"
)

// enumJSON is /v1/enumerate in Mesos-DNS's shape: each framework, its tasks, and the
// records each task gives. The answer is written a task at a time (writeEnumerate),
// never built whole.
type enumJSON struct {
	Frameworks []enumFramework `json:"frameworks"`
}

type enumFramework struct {
	Name  string     `json:"name"`
	Tasks []enumTask `json:"tasks"`
}

type enumTask struct {
	Name    string       `json:"name"`
	ID      string       `json:"id"`
	Records []enumRecord `json:"records"`
}

type enumRecord struct {
	Name  string `json:"name"`
	Host  string `json:"host"`
	Rtype string `json:"rtype"`
}

// writeEnumerate writes /v1/enumerate to bw, one task at a time, in the shape of
// enumJSON and as encoding/json would.
func (a *api) writeEnumerate(bw *bufio.Writer, _ *records.Set) error {
	var err error
	b := append(bw.AvailableBuffer(), `{"frameworks":[`...)
	frameworks := 0
	a.updater.Enumerate(a.cfg.opts.Zones[0], func(framework string, first bool, t *records.EnumTask) bool {
		switch {
		case first && frameworks > 0:
			b = append(b, "]},"...)
			fallthrough
		case first:
			frameworks++
			b = append(b, `{"name":`...)
			b = appendJSONString(b, framework)
			b = append(b, `,"tasks":[`...)
		default:
			b = append(b, ',')
		}
		b = appendEnumTask(b, t)
		_, err = bw.Write(b)
		b = bw.AvailableBuffer()
		return err == nil
	})
	if err != nil {
		return err
	}
	if frameworks > 0 {
		b = append(b, "]}"...)
	}
	_, err = bw.Write(append(b, "]}\n"...))
	return err
}

func appendEnumTask(b []byte, t *records.EnumTask) []byte {
	b = append(b, `{"name":`...)
	b = appendJSONString(b, t.Name)
	b = append(b, `,"id":`...)
	b = appendJSONString(b, t.ID)
	b = append(b, `,"records":[`...)
	for i, r := range t.Records {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendJSONString(b, r.Name)
		b = append(b, `,"host":`...)
		b = appendJSONString(b, r.Host)
		b = append(b, `,"rtype":`...)
		b = appendJSONString(b, r.Rtype)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}
