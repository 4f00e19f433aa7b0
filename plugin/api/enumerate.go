package api

import (
	"bufio"

	"github.com/coredns-mesos/mesos/plugin/records"
)

// Enumeration is /v1/enumerate in Mesos-DNS's shape: each framework, its tasks, and the
// records each task gives. The answer is written a task at a time (writeEnumerate),
// never built whole.
type Enumeration struct {
	Frameworks []EnumFramework `json:"frameworks"`
}

// EnumFramework is one framework of /v1/enumerate and its tasks.
type EnumFramework struct {
	Name  string     `json:"name"`
	Tasks []EnumTask `json:"tasks"`
}

// EnumTask is one running task of /v1/enumerate and the records it gives.
type EnumTask struct {
	Name    string       `json:"name"`
	ID      string       `json:"id"`
	Records []EnumRecord `json:"records"`
}

// EnumRecord is one record a task gives in /v1/enumerate.
type EnumRecord struct {
	Name  string `json:"name"`
	Host  string `json:"host"`
	Rtype string `json:"rtype"`
}

// writeEnumerate writes /v1/enumerate to bw, one task at a time, in the shape of
// Enumeration and as encoding/json would.
func (a *Server) writeEnumerate(bw *bufio.Writer, _ *records.Set) error {
	var err error
	b := append(bw.AvailableBuffer(), `{"frameworks":[`...)
	frameworks := 0
	a.cfg.Updater.Enumerate(a.cfg.Zones[0], func(framework string, first bool, t *records.EnumTask) bool {
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
