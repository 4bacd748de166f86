"""Small fake servers speaking real provider wire protocols on 127.0.0.1, for tests."""
