package auth

// Wait blocks until both caches have applied pending writes, so tests can
// observe what a later request would see.
func (s *Service) Wait() {
	s.tokens.Wait()
	s.subjects.Wait()
}
