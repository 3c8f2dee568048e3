from runwatch.cli import main

main()
