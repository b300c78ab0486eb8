SELECT	"unterminated
