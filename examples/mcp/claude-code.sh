# One memory for every project (user scope):
claude mcp add --transport stdio --scope user zettelmem -- mem serve
# Or for this project only, with its own default scope:
claude mcp add --transport stdio --env MEM_SCOPE=my-project zettelmem -- mem serve
# Or a running `mem serve --http`, with the same MEM_TOKEN set for both:
claude mcp add --transport http zettelmem http://127.0.0.1:8765/mcp --header "Authorization: Bearer $MEM_TOKEN"
