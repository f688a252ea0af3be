package server

// adminRoutes registers the admin area under /admin/.
func (s *Server) adminRoutes() {}
