// Copyright: (c) 2026, Darevel platform team
// GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
//
// A Java backend's connection, as the Darevel services and Keycloak make it: PgJDBC with the values
// of the instance's env file (DB_HOST, DB_PORT, DB_NAME, DB_APP_USER, DB_APP_PASSWORD, PGSSLMODE,
// PGSSLROOTCERT) from the environment. Prints "ssl=<t|f> version=<TLS version> user=<role>".
//   java -cp /usr/share/java/postgresql.jar EnvConnect.java
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Properties;

public class EnvConnect {
    public static void main(String[] args) throws Exception {
        String url = "jdbc:postgresql://" + System.getenv("DB_HOST") + ":" + System.getenv("DB_PORT") + "/"
                + System.getenv("DB_NAME");
        Properties props = new Properties();
        props.setProperty("user", System.getenv("DB_APP_USER"));
        props.setProperty("password", System.getenv("DB_APP_PASSWORD"));
        if (System.getenv("PGSSLMODE") != null) {
            props.setProperty("sslmode", System.getenv("PGSSLMODE"));
        }
        if (System.getenv("PGSSLROOTCERT") != null) {
            props.setProperty("sslrootcert", System.getenv("PGSSLROOTCERT"));
        }
        try (Connection conn = DriverManager.getConnection(url, props);
             Statement st = conn.createStatement();
             ResultSet rs = st.executeQuery(
                     "SELECT ssl, coalesce(version, '-'), current_user FROM pg_stat_ssl WHERE pid = pg_backend_pid()")) {
            rs.next();
            System.out.println("ssl=" + (rs.getBoolean(1) ? "t" : "f") + " version=" + rs.getString(2)
                    + " user=" + rs.getString(3));
        }
    }
}
