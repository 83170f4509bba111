package cli

import (
	"io"
	"text/tabwriter"
	"time"
)

// table aligns columns of tab-separated cells.
func table(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) }

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// dash shows an empty cell as "-", so that the columns stay countable.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	// With the zone: a time read off a server elsewhere means nothing
	// without it.
	return t.Local().Format("2006-01-02 15:04:05 MST")
}
