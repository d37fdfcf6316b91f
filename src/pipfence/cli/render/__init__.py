"""Text and JSON renderings of what the use cases return (the use cases print nothing)."""
