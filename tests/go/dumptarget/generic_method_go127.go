//go:build go1.27

package main

// Methods with type parameters of their own are new in Go 1.27; the traceback names this
// one main.(*Box[...]).Conv[...].

//go:noinline
func (b *Box[T]) Conv[U any](c chan U) U {
	started.Done()
	return <-c
}

func init() {
	extraWaits = append(extraWaits, func() {
		b := &Box[int]{}
		go b.Conv[string](make(chan string))
	})
}
